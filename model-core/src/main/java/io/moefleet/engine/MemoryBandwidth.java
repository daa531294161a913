package io.moefleet.engine;

import io.moefleet.model.compute.Lanes;
import io.moefleet.model.compute.Workers;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import jdk.incubator.vector.FloatVector;

/**
 * The machine's read bandwidth, measured now: threads sum disjoint parts of a buffer at least 8x the last-level cache
 * (so the reads come from DRAM, as a large model's decode does), best of several sweeps.
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
            MemorySegment buffer = arena.allocate(bytes, 64);
            buffer.fill((byte) 1);                                   // fault every page in before timing
            long chunk = bytes / workers.threads();
            double[] sink = new double[workers.threads()];
            double best = 0;
            for (int sweep = 0; sweep < SWEEPS; sweep++) {
                long start = System.nanoTime();
                workers.parallelFor(workers.threads(), (from, to) -> {
                    for (int part = from; part < to; part++) {
                        sink[part] += sum(buffer, part * chunk, chunk);
                    }
                });
                double seconds = (System.nanoTime() - start) / 1e9;
                best = Math.max(best, bytes / seconds);
            }
            if (Double.isNaN(sink[0])) {
                throw new AssertionError("unreachable: keeps the sums alive");
            }
            return best;
        }
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
