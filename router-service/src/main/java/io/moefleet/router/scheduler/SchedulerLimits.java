package io.moefleet.router.scheduler;

import java.time.Duration;

/**
 * The scheduler's bounds.
 *
 * @param maxRunning      sequences in the running batch at once (each holds a KV cache)
 * @param maxWaiting      admitted requests waiting for a place in the batch; beyond it a request is turned away (429)
 * @param maxQueueWait    how long a request may wait for a place; past it, it is turned away (503 with Retry-After)
 * @param stepTokenBudget tokens per step: every running decode token first, then prefill chunks of the waiting
 *                        prompts in arrival order, so a long prompt is spread over steps instead of stalling decodes
 */
public record SchedulerLimits(int maxRunning, int maxWaiting, Duration maxQueueWait, int stepTokenBudget) {

    public static final SchedulerLimits DEFAULT = new SchedulerLimits(32, 256, Duration.ofSeconds(60), 256);

    public SchedulerLimits {
        if (maxRunning < 1 || maxWaiting < 0) {
            throw new IllegalArgumentException("maxRunning must be >= 1 and maxWaiting >= 0, got " + maxRunning + ", " + maxWaiting);
        }
        if (maxQueueWait.isNegative() || maxQueueWait.isZero()) {
            throw new IllegalArgumentException("maxQueueWait must be positive, got " + maxQueueWait);
        }
        if (stepTokenBudget <= maxRunning) {
            // every running sequence decodes each step, and a prefill must still make progress beside them
            throw new IllegalArgumentException("stepTokenBudget (" + stepTokenBudget + ") must exceed maxRunning (" + maxRunning + ")");
        }
    }
}
