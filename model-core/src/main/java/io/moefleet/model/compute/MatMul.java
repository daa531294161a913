package io.moefleet.model.compute;

import io.moefleet.model.weights.Linear;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Products of weight matrices with batches of token vectors, their rows split over the workers. A set of products
 * that do not depend on each other (every expert's gate and up, then every expert's down) runs as one hand-off, split
 * by cost: a step has a few hand-offs per layer rather than a few per expert, which matters when each costs as much
 * as a small expert's product.
 */
public final class MatMul {

    /**
     * Work over the rows of one or more matrices that the threads of a hand-off share out: any contiguous run of rows
     * may go to any thread, and each row's result must not depend on which.
     */
    public interface RowTask {

        /** The rows to share out; 0 for nothing to do. */
        int rows();

        /** One row's cost, in the units of {@link #productRowCost}. */
        long rowCost();

        void run(int rowFrom, int rowTo);
    }

    /** One product: {@code outs[t][0 .. rows) = w · xs[t]} for {@code t < n}. */
    public record Job(Linear w, float[][] xs, int n, float[][] outs) implements RowTask {

        @Override
        public int rows() {
            return n == 0 ? 0 : w.rows();
        }

        @Override
        public long rowCost() {
            return productRowCost(w, n);
        }

        @Override
        public void run(int rowFrom, int rowTo) {
            w.multiply(xs, 0, n, outs, 0, rowFrom, rowTo);
        }
    }

    /**
     * A row of {@code w} against {@code n} tokens: its multiply-adds plus reading it, which at one or two tokens (a
     * decode step's experts) dominates; reading a row costs about as much as {@link #ROW_READ_IN_TOKENS} tokens'
     * multiply-adds here.
     */
    public static long productRowCost(Linear w, int n) {
        return (long) w.cols() * (n + ROW_READ_IN_TOKENS);
    }

    private static final int ROW_READ_IN_TOKENS = 2;

    /** Below this many multiply-adds a hand-off to other threads costs more than it saves. */
    private static final long PARALLEL_THRESHOLD = 1 << 15;

    private final Workers workers;

    public MatMul(Workers workers) {
        this.workers = workers;
    }

    public Workers workers() {
        return workers;
    }

    public void multiply(Linear w, float[][] xs, int n, float[][] outs) {
        multiplyAll(List.of(new Job(w, xs, n, outs)));
    }

    /**
     * Every job, cut by cost into {@link #CHUNKS_PER_THREAD} contiguous runs of rows per thread (across the jobs), which
     * the threads claim in turn until none is left.
     */
    public void multiplyAll(List<? extends RowTask> jobs) {
        long[] start = new long[jobs.size() + 1];
        for (int j = 0; j < jobs.size(); j++) {
            RowTask job = jobs.get(j);
            start[j + 1] = start[j] + job.rowCost() * job.rows();
        }
        long total = start[jobs.size()];
        if (total == 0) {
            return;
        }
        int threads = total < PARALLEL_THRESHOLD ? 1 : workers.threads();
        if (threads == 1) {
            run(jobs, start, 0, total);
            return;
        }
        int chunks = threads * CHUNKS_PER_THREAD;
        AtomicInteger next = new AtomicInteger();
        workers.shareOut(() -> {
            for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
                run(jobs, start, total * c / chunks, total * (c + 1) / chunks);
            }
        });
    }

    /**
     * Runs per thread in a hand-off. A fixed even split leaves the caller waiting whenever the worker starts late (woken
     * from a park) or runs slower (its core shared): at batch-1 decode the caller spent about a tenth of its time so.
     * Claimed runs let the early thread take more, and the caller all of them when a worker wakes too late to join
     * ({@link Workers#shareOut}); each (row, token) sum is the same whoever computes it.
     */
    private static final int CHUNKS_PER_THREAD = 8;

    /** The rows whose cost range starts in {@code [lo, hi)}: adjacent ranges share no row and miss none. */
    private static void run(List<? extends RowTask> jobs, long[] start, long lo, long hi) {
        for (int j = 0; j < jobs.size(); j++) {
            if (start[j + 1] <= lo || start[j] >= hi) {
                continue;
            }
            RowTask job = jobs.get(j);
            long rowCost = job.rowCost();
            int from = (int) Math.ceilDiv(Math.max(lo - start[j], 0), rowCost);
            int to = (int) Math.min(job.rows(), Math.ceilDiv(hi - start[j], rowCost));
            if (from < to) {
                job.run(from, to);
            }
        }
    }
}
