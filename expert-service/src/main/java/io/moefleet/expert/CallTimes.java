package io.moefleet.expert;

import java.util.Arrays;

/**
 * The wall times of the last {@value #KEPT} expert calls (dispatch to answer), for hedging: the percentile of these
 * is how long a call may take before it goes to a replica too. The percentile is recomputed every {@value #REFRESH}
 * calls, not per call. The stepping thread's alone.
 */
final class CallTimes {

    private static final int KEPT = 512;
    private static final int REFRESH = 64;
    /** Fewer calls than this say too little about the tail. */
    private static final int ENOUGH = 128;

    private final long[] nanos = new long[KEPT];
    private long added;
    private double percentile = Double.NaN;
    private long threshold = -1;

    void add(long callNanos) {
        nanos[(int) (added % KEPT)] = callNanos;
        added++;
        if (added % REFRESH == 0) {
            threshold = -1;   // recomputed on the next ask
        }
    }

    /** The {@code p}-th percentile (0 < p < 100) of the kept times in nanoseconds, or -1 while too few calls were timed. */
    long percentile(double p) {
        if (added < ENOUGH) {
            return -1;
        }
        if (threshold < 0 || p != percentile) {
            long[] sorted = Arrays.copyOf(nanos, (int) Math.min(added, KEPT));
            Arrays.sort(sorted);
            threshold = sorted[(int) Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)];
            percentile = p;
        }
        return threshold;
    }
}
