package io.moefleet.model.compute;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of threads that split one range of work (rows of a matrix) into contiguous parts, the calling thread
 * taking the first. Decode issues hundreds of small parallel products per token, so hand-off is a spin on a volatile
 * generation counter rather than a queue; an idle worker parks after about 50 microseconds, because on a machine with
 * as many threads as cores a spinning worker starves the JIT compiler threads (kernels then stay interpreted for
 * seconds) and anything else running. One caller at a time.
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
    private final AtomicInteger pending = new AtomicInteger();
    private volatile long generation;
    private volatile boolean closed;
    private RangeTask task;
    private int size;
    private volatile Throwable failure;

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
        this.task = task;
        this.size = n;
        this.failure = null;
        pending.set(workers.length);
        generation++;                              // publishes task and size to the workers
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        Throwable own = null;
        try {
            task.run(0, bound(0, n));
        } catch (Throwable t) {
            own = t;
        }
        int spins = 0;
        while (pending.get() != 0) {
            if (++spins > SPINS_BEFORE_PARK) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
        this.task = null;
        Throwable failed = own != null ? own : failure;
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
        long seen = 0;
        while (true) {
            int spins = 0;
            while (generation == seen && !closed) {
                if (++spins > SPINS_BEFORE_PARK) {
                    LockSupport.park(this);
                } else {
                    Thread.onSpinWait();
                }
            }
            if (closed) {
                return;
            }
            seen = generation;
            try {
                int n = size;
                task.run(bound(part - 1, n), bound(part, n));
            } catch (Throwable t) {
                failure = t;
            } finally {
                pending.decrementAndGet();
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
