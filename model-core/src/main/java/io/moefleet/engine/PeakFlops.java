package io.moefleet.engine;

import io.moefleet.model.compute.Lanes;
import io.moefleet.model.compute.Workers;
import jdk.incubator.vector.FloatVector;

/**
 * The machine's float32 compute, measured now: every thread runs fused multiply-adds on twelve independent vector
 * sums held in registers (enough to cover the FMA units' latency), no memory traffic; best of several runs. What a
 * compute-bound kernel of this JVM could reach at most, the yardstick for training's share of the machine.
 */
public final class PeakFlops {

    private static final int RUNS = 5;
    private static final long ITERATIONS = 20_000_000;
    private static final int SUMS = 12;

    private PeakFlops() {}

    /** Floating-point operations per second (a multiply-add counts two). */
    public static double measure(Workers workers) {
        double best = 0;
        float[] sink = new float[workers.threads()];
        for (int run = 0; run < RUNS; run++) {
            long start = System.nanoTime();
            workers.parallelFor(workers.threads(), (from, to) -> {
                for (int t = from; t < to; t++) {
                    sink[t] = fmaLoop(ITERATIONS, 1f + t * 1e-7f);
                }
            });
            double seconds = (System.nanoTime() - start) / 1e9;
            best = Math.max(best, 2.0 * SUMS * Lanes.F.length() * ITERATIONS * workers.threads() / seconds);
        }
        float checksum = 0;
        for (float s : sink) {
            checksum += s;
        }
        if (Float.isNaN(checksum)) {
            throw new IllegalStateException("the FMA loop overflowed"); // uses the sums, so they cannot be left out
        }
        return best;
    }

    /** {@code iterations} rounds of one FMA into each of the twelve sums; multiplier and addend keep them bounded. */
    private static float fmaLoop(long iterations, float seed) {
        FloatVector k = FloatVector.broadcast(Lanes.F, 0.999999f);
        FloatVector c = FloatVector.broadcast(Lanes.F, 1e-6f);
        FloatVector s0 = FloatVector.broadcast(Lanes.F, seed), s1 = s0.add(1), s2 = s0.add(2), s3 = s0.add(3),
                s4 = s0.add(4), s5 = s0.add(5), s6 = s0.add(6), s7 = s0.add(7), s8 = s0.add(8), s9 = s0.add(9),
                s10 = s0.add(10), s11 = s0.add(11);
        for (long i = 0; i < iterations; i++) {
            s0 = s0.fma(k, c);
            s1 = s1.fma(k, c);
            s2 = s2.fma(k, c);
            s3 = s3.fma(k, c);
            s4 = s4.fma(k, c);
            s5 = s5.fma(k, c);
            s6 = s6.fma(k, c);
            s7 = s7.fma(k, c);
            s8 = s8.fma(k, c);
            s9 = s9.fma(k, c);
            s10 = s10.fma(k, c);
            s11 = s11.fma(k, c);
        }
        return Lanes.sum(s0.add(s1).add(s2).add(s3).add(s4).add(s5).add(s6).add(s7).add(s8).add(s9).add(s10).add(s11));
    }
}
