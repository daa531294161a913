package io.moefleet.cli.fleet;

import io.moefleet.expert.ExpertPlacement;
import io.moefleet.model.safetensors.TensorInfo;
import io.moefleet.model.weights.Checkpoint;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code -Xmx} of each service JVM. Weights are memory-mapped, off the heap; on the heap are the norms, biases and
 * scales copied at load, activations, latent caches and gRPC buffers. The rule: a floor of 256 MiB, plus the bytes of
 * the tensors the process serves (an expert shard: its routed experts' tensors; an attention instance: every layer's
 * {@code self_attn} tensors, plus the memory its hot KV pages may take), so that even a process that copied all its
 * tensors to the heap fits; an attention instance also gets {@link #KV_CACHE_BYTES} for the latent caches of the
 * sequences it holds (what it reports as its KV capacity, which the fleet controller scales attention instances on). A
 * KV member: the floor plus twice its memory budget (its own pages and the backups of another member's).
 */
final class HeapBounds {

    static final long FLOOR = 256L << 20;
    /**
     * The latent caches an attention instance may hold: 1 GiB holds, for example, 64 sequences of 192 positions of
     * the small preset several times over; a soak of 64 streams ran out of heap without it.
     */
    static final long KV_CACHE_BYTES = 1L << 30;

    private static final Pattern EXPERT = Pattern.compile("^model\\.layers\\.(\\d+)\\.mlp\\.experts\\.(\\d+)\\.");
    private static final Pattern ATTENTION = Pattern.compile("^model\\.layers\\.\\d+\\.self_attn\\.");

    private final Map<String, TensorInfo> tensors;

    HeapBounds(Checkpoint checkpoint) {
        this.tensors = checkpoint.tensors();
    }

    long expertShard(ExpertPlacement placement, int shard) {
        long bytes = 0;
        for (TensorInfo tensor : tensors.values()) {
            Matcher m = EXPERT.matcher(tensor.name());
            if (m.find() && placement.holds(shard, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)))) {
                bytes += tensor.data().byteSize();
            }
        }
        return FLOOR + bytes;
    }

    long attentionInstance(long hotPageBytes) {
        long bytes = tensors.values().stream().filter(t -> ATTENTION.matcher(t.name()).find())
                .mapToLong(t -> t.data().byteSize()).sum();
        return FLOOR + bytes + hotPageBytes + KV_CACHE_BYTES;
    }

    static long kvMember(long memoryBudget) {
        return FLOOR + 2 * memoryBudget;
    }

    /** As {@code -Xmx}: whole MiB, rounded up. */
    static String xmx(long bytes) {
        return "-Xmx" + Math.ceilDiv(bytes, 1L << 20) + "m";
    }
}
