package io.moefleet.cli.plan;

import java.util.Locale;

/**
 * The machines a plan is for: GPU nodes (one expert pod per GPU) or large-memory CPU nodes (one expert pod per node).
 *
 * @param devicesPerNode GPUs per node; 1 for CPU nodes
 * @param memoryGib the memory of one device: a GPU's, or a CPU node's
 */
public record HardwareSpec(boolean gpu, int nodes, int devicesPerNode, int memoryGib) {

    public HardwareSpec {
        if (nodes < 1 || devicesPerNode < 1 || memoryGib < 1) {
            throw new IllegalArgumentException("nodes, devices per node and memory must be at least 1, got " + nodes + ", "
                    + devicesPerNode + ", " + memoryGib + " GiB");
        }
        if (!gpu && devicesPerNode != 1) {
            throw new IllegalArgumentException("a CPU node is one pod; got " + devicesPerNode + " devices per node");
        }
    }

    public static HardwareSpec gpus(int nodes, int gpusPerNode, int gpuMemoryGib) {
        return new HardwareSpec(true, nodes, gpusPerNode, gpuMemoryGib);
    }

    public static HardwareSpec cpuNodes(int nodes, int nodeMemoryGib) {
        return new HardwareSpec(false, nodes, 1, nodeMemoryGib);
    }

    /** Expert pods: one per GPU, or one per CPU node. */
    public int pods() {
        return Math.multiplyExact(nodes, devicesPerNode);
    }

    /** What one pod may use. */
    public long podBytes() {
        return memoryGib * (1L << 30);
    }

    /** E.g. "2 nodes x 8 GPUs x 141 GiB" or "4 CPU nodes x 1536 GiB". */
    public String describe() {
        return gpu
                ? String.format(Locale.ROOT, "%d node%s x %d GPU%s x %d GiB", nodes, nodes == 1 ? "" : "s", devicesPerNode,
                        devicesPerNode == 1 ? "" : "s", memoryGib)
                : String.format(Locale.ROOT, "%d CPU node%s x %d GiB", nodes, nodes == 1 ? "" : "s", memoryGib);
    }

    /** "GPU" or "CPU node". */
    public String device() {
        return gpu ? "GPU" : "CPU node";
    }
}
