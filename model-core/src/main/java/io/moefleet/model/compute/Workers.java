package io.moefleet.model.compute;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of threads that share one piece of work with the calling thread: a range split into contiguous parts, the
 * calling thread taking the first ({@link #parallelFor}), or work the threads claim in turn until none is left
 * ({@link #shareOut}). Decode issues dozens of parallel products per token, so hand-off is a spin on a volatile field
 * rather than a queue; an idle worker parks after about 50 microseconds, because on a machine with as many threads as
 * cores a spinning worker starves the JIT compiler threads (kernels then stay interpreted for seconds) and anything else
 * running. One caller at a time.
 */
public final class Workers implements AutoCloseable {

    /** Work over the half-open range {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private static final int SPINS_BEFORE_PARK = 1 << 11;

    private final int threads;
    private final Thread[] workers;
    private volatile Dispatch current;   // the latest hand-off; a worker runs the newest it has not seen
    private volatile boolean closed;

    /**
     * One hand-off. {@code split}: each worker runs its part of {@code [0, size)} and the caller waits for all of them.
     * Otherwise the task claims its own work and a worker joins only while the dispatch is open: the caller closes it
     * when its own run is done, so that a worker still asleep then (on busy cores, waking can take a scheduler slice)
     * is not waited for; it finds nothing left to claim.
     */
    private static final class Dispatch {
        private static final int CLOSED = 1 << 30;

        final RangeTask task;
        final int size;
        final boolean split;
        /** Split: the parts not yet done. Shared out: the workers inside, plus CLOSED once the caller has closed it. */
        final AtomicInteger state;
        volatile Throwable failure;

        Dispatch(RangeTask task, int size, boolean split, int workers) {
            this.task = task;
            this.size = size;
            this.split = split;
            this.state = new AtomicInteger(split ? workers : 0);
        }

        boolean enter() {
            for (int s = state.get(); (s & CLOSED) == 0; s = state.get()) {
                if (state.compareAndSet(s, s + 1)) {
                    return true;
                }
            }
            return false;
        }

        /** Split: parts still running. Shared out: workers still inside; none join after this is first called. */
        int running() {
            return split ? state.get() : state.updateAndGet(s -> s | CLOSED) & ~CLOSED;
        }
    }

    public Workers(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int part = i + 1;
            workers[i] = Thread.ofPlatform().daemon().name("fleet-worker-" + part).start(() -> loop(part));
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs {@code task} over {@code [0, n)} split evenly over the threads; returns when every part is done. */
    public void parallelFor(int n, RangeTask task) {
        if (threads == 1 || n < 2) {
            task.run(0, n);
            return;
        }
        run(new Dispatch(task, n, true, workers.length));
    }

    /**
     * Runs {@code claimLoop} on this thread and on every worker that wakes before this thread's run is done; returns
     * when this thread's run and those workers' are done. The loop must claim its work in turn (a shared counter), so
     * that one thread alone does all of it when the others are late, and a worker joining late finds nothing left.
     */
    public void shareOut(Runnable claimLoop) {
        if (threads == 1) {
            claimLoop.run();
            return;
        }
        run(new Dispatch((from, to) -> claimLoop.run(), 0, false, workers.length));
    }

    private void run(Dispatch dispatch) {
        current = dispatch;                        // publishes the task to the workers
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        Throwable own = null;
        try {
            dispatch.task.run(0, bound(0, dispatch.size));
        } catch (Throwable t) {
            own = t;
        }
        int spins = 0;
        while (dispatch.running() != 0) {
            if (++spins > SPINS_BEFORE_PARK) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
        Throwable failed = own != null ? own : dispatch.failure;
        if (failed instanceof RuntimeException e) {
            throw e;
        }
        if (failed instanceof Error e) {
            throw e;
        }
    }

    private int bound(int part, int n) {
        return (int) ((long) n * (part + 1) / threads);
    }

    private void loop(int part) {
        Dispatch seen = null;
        while (true) {
            int spins = 0;
            while (current == seen && !closed) {
                if (++spins > SPINS_BEFORE_PARK) {
                    LockSupport.park(this);
                } else {
                    Thread.onSpinWait();
                }
            }
            if (closed) {
                return;
            }
            Dispatch dispatch = current;
            seen = dispatch;
            if (!dispatch.split && !dispatch.enter()) {
                continue;                          // closed before this worker woke: the caller has done the work
            }
            try {
                int n = dispatch.size;
                dispatch.task.run(bound(part - 1, n), bound(part, n));
            } catch (Throwable t) {
                dispatch.failure = t;
            } finally {
                dispatch.state.decrementAndGet();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
