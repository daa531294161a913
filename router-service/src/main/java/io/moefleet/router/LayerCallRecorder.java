package io.moefleet.router;

import java.util.Arrays;

/**
 * Wall time and bytes of one kind of per-layer remote call (a MoE layer's dispatch and combine, or a layer's attention
 * call). Percentiles cover the most recent {@link #WINDOW} calls, exactly: memory stays bounded however long the router
 * serves, and a bench that resets between runs gets every call of its run. Thread-safe: the step thread records while
 * a bench or metrics thread reads.
 */
public final class LayerCallRecorder {

    /** Calls the percentiles cover: 64 decode steps of a 61-layer model fit about 16 times over. */
    public static final int WINDOW = 1 << 16;

    private final long[] nanos = new long[WINDOW];
    private final long[] serverNanos = new long[WINDOW];
    private long calls;
    private long bytesSent;
    private long bytesReceived;
    private long wallSum;
    private long waitedSum;

    /**
     * One call: its wall time, the time the slowest server it called spent on it by its own clock, and the bytes it
     * sent and received (0 where unknown).
     */
    public synchronized void record(long wallNanos, long slowestServerNanos, long sent, long received) {
        record(wallNanos, slowestServerNanos, sent, received, wallNanos);
    }

    /**
     * As above, with the time the caller was blocked waiting for the answers ({@code waitedNanos}): the rest of the
     * call's wall time was hidden behind other work of the step.
     */
    public synchronized void record(long wallNanos, long slowestServerNanos, long sent, long received, long waitedNanos) {
        wallSum += wallNanos;
        waitedSum += Math.min(waitedNanos, wallNanos);
        nanos[(int) (calls % WINDOW)] = wallNanos;
        serverNanos[(int) (calls % WINDOW)] = slowestServerNanos;
        calls++;
        bytesSent += sent;
        bytesReceived += received;
    }

    /** Forgets every call recorded so far. */
    public synchronized void reset() {
        calls = 0;
        bytesSent = 0;
        bytesReceived = 0;
        wallSum = 0;
        waitedSum = 0;
    }

    public LayerCallSummary summary() {
        long[] window;
        long[] serverWindow;
        long n;
        long sent;
        long received;
        double hidden;
        synchronized (this) {
            hidden = wallSum == 0 ? 0 : 1 - (double) waitedSum / wallSum;
            n = calls;
            window = Arrays.copyOf(nanos, (int) Math.min(calls, WINDOW));
            serverWindow = Arrays.copyOf(serverNanos, window.length);
            sent = bytesSent;
            received = bytesReceived;
        }
        if (n == 0) {
            return new LayerCallSummary(0, 0, 0, 0, 0, 0, 0, 0);
        }
        Arrays.sort(window);
        Arrays.sort(serverWindow);
        return new LayerCallSummary(n, percentile(window, 0.50) / 1e3, percentile(window, 0.99) / 1e3,
                percentile(serverWindow, 0.50) / 1e3, percentile(serverWindow, 0.99) / 1e3, (double) sent / n, (double) received / n,
                hidden);
    }

    /** The nearest-rank percentile: the smallest sample that at least {@code p} of the samples do not exceed. */
    private static long percentile(long[] sorted, double p) {
        int rank = (int) Math.ceil(p * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }
}
