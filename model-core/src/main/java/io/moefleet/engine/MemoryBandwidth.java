package io.moefleet.engine;

import io.moefleet.model.compute.Lanes;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.weights.HugePageMemory;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import jdk.incubator.vector.FloatVector;

/**
 * The machine's read bandwidth, measured now: threads sum disjoint parts of a buffer at least 8x the last-level cache
 * (so the reads come from DRAM, as a large model's decode does), best of several sweeps. The buffer is on the pages the
 * weights are on ({@link HugePageMemory#preferred}), or the roofline would be set against slower reads than decode's.
 */
public final class MemoryBandwidth {

    private static final long MIN_BYTES = 256L << 20;
    private static final int SWEEPS = 5;

    private MemoryBandwidth() {}

    /** Bytes per second. */
    public static double measure(Workers workers) {
        long bytes = Math.max(MIN_BYTES, 8 * lastLevelCacheBytes());
        bytes -= bytes % (64L * workers.threads() * Lanes.F.vectorByteSize());
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = HugePageMemory.preferred(arena).allocate(bytes, 64);
            buffer.fill((byte) 1);                                   // fault every page in before timing
            double best = 0;
            for (int sweep = 0; sweep < SWEEPS; sweep++) {
                long start = System.nanoTime();
                read(workers, buffer);
                best = Math.max(best, bytes / ((System.nanoTime() - start) / 1e9));
            }
            return best;
        }
    }

    /**
     * Reads all of {@code buffer} once, each thread summing one contiguous part; returns the sum so that the reads
     * cannot be left out. Its size must be a multiple of threads x 4 vectors, and every worker must be able to read it
     * (a shared or global arena's).
     */
    public static float read(Workers workers, MemorySegment buffer) {
        long chunk = buffer.byteSize() / workers.threads();
        if (chunk % (4L * Lanes.F.vectorByteSize()) != 0) {
            throw new IllegalArgumentException(buffer.byteSize() + " bytes do not split into " + workers.threads()
                    + " parts of whole groups of 4 vectors");
        }
        float[] sums = new float[workers.threads()];
        workers.parallelFor(workers.threads(), (from, to) -> {
            for (int part = from; part < to; part++) {
                sums[part] = sum(buffer, part * chunk, chunk);
            }
        });
        float total = 0;
        for (float s : sums) {
            total += s;
        }
        return total;
    }

    private static float sum(MemorySegment buffer, long offset, long length) {
        int step = Lanes.F.vectorByteSize();
        FloatVector a = FloatVector.zero(Lanes.F), b = a, c = a, d = a;
        for (long i = offset; i < offset + length; i += 4L * step) {
            a = a.add(FloatVector.fromMemorySegment(Lanes.F, buffer, i, ByteOrder.LITTLE_ENDIAN));
            b = b.add(FloatVector.fromMemorySegment(Lanes.F, buffer, i + step, ByteOrder.LITTLE_ENDIAN));
            c = c.add(FloatVector.fromMemorySegment(Lanes.F, buffer, i + 2L * step, ByteOrder.LITTLE_ENDIAN));
            d = d.add(FloatVector.fromMemorySegment(Lanes.F, buffer, i + 3L * step, ByteOrder.LITTLE_ENDIAN));
        }
        return Lanes.sum(a.add(b).add(c).add(d));
    }

    /** The largest cache the kernel reports (Linux sysfs); 32 MiB when it reports none. */
    static long lastLevelCacheBytes() {
        long largest = 0;
        for (int index = 0; index < 8; index++) {
            Path size = Path.of("/sys/devices/system/cpu/cpu0/cache/index" + index + "/size");
            try {
                String s = Files.readString(size).strip();
                long unit = s.endsWith("K") ? 1024 : s.endsWith("M") ? 1024 * 1024 : 1;
                largest = Math.max(largest, Long.parseLong(s.replaceAll("[KM]$", "")) * unit);
            } catch (IOException | NumberFormatException e) {
                break;
            }
        }
        return largest > 0 ? largest : 32L << 20;
    }
}
