package io.moefleet.router.scheduler;

import java.time.Duration;

/** The scheduler turned a request away before it ran: the API answers 429 or 503 with Retry-After. */
public final class RejectedException extends RuntimeException {

    public enum Reason {
        /** The waiting queue is full. */
        QUEUE_FULL,
        /** The request waited longer than the limit for a place in the batch. */
        QUEUE_TIMEOUT,
        /** The server is draining or stopped: it takes no new work. */
        DRAINING
    }

    private final Reason reason;
    private final Duration retryAfter;

    public RejectedException(Reason reason, String message, Duration retryAfter) {
        super(message);
        this.reason = reason;
        this.retryAfter = retryAfter;
    }

    public Reason reason() {
        return reason;
    }

    /** When the client may try again. */
    public Duration retryAfter() {
        return retryAfter;
    }
}
