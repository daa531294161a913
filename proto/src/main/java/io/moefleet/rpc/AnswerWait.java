package io.moefleet.rpc;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * How a caller waits for a call's answer: parked at once (the default), or spinning first for a bounded time. A parked
 * thread is woken by the transport thread that completes the answer, which costs tens of microseconds on an idle core
 * and a scheduler slice on a busy one; a spinning thread sees the answer at once but holds its core meanwhile, which a
 * machine whose cores the services share cannot spare. Thread-safe; the spin can change while calls wait.
 */
public final class AnswerWait {

    private volatile long spinNanos;

    /** Spins up to {@code spin} before parking; zero parks at once. */
    public void spinFor(Duration spin) {
        if (spin.isNegative()) {
            throw new IllegalArgumentException("a spin before parking cannot be negative: " + spin);
        }
        spinNanos = spin.toNanos();
    }

    public Duration spin() {
        return Duration.ofNanos(spinNanos);
    }

    /** The answer, waiting as set. */
    public <T> T get(Future<T> answer) throws ExecutionException, InterruptedException {
        spinWhileUndone(answer, spinNanos);
        return answer.get();
    }

    /** The answer if it comes within {@code timeoutNanos} (spinning first, as set, within that time). */
    public <T> T get(Future<T> answer, long timeoutNanos) throws ExecutionException, InterruptedException, TimeoutException {
        long start = System.nanoTime();
        spinWhileUndone(answer, Math.min(spinNanos, timeoutNanos));
        return answer.get(Math.max(0, timeoutNanos - (System.nanoTime() - start)), TimeUnit.NANOSECONDS);
    }

    private static void spinWhileUndone(Future<?> answer, long spin) {
        if (spin <= 0 || answer.isDone()) {
            return;
        }
        long until = System.nanoTime() + spin;
        while (!answer.isDone() && System.nanoTime() - until < 0) {
            Thread.onSpinWait();
        }
    }
}
