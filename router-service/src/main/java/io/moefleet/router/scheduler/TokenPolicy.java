package io.moefleet.router.scheduler;

import io.moefleet.sampling.TokenMask;

/**
 * A request's own constraints on each sampled token (a chat turn's grammar and step biases), beside its sampling
 * parameters. Called on the scheduler's stepping thread, in this order per step: {@link #mask}, {@link #adjust},
 * then {@link #accept} with the token sampled.
 */
public interface TokenPolicy {

    /** No constraint: every token allowed, logits as the model gave them. */
    TokenPolicy NONE = new TokenPolicy() {};

    /** The tokens allowed at {@code step} (0 = the first generated token). */
    default TokenMask mask(int step) {
        return TokenMask.all();
    }

    /** The logits to sample from at {@code step}; return {@code logits} itself, or a changed copy, never modify it. */
    default float[] adjust(float[] logits, int step) {
        return logits;
    }

    /** The token sampled at this step, end tokens included. */
    default void accept(int token) {}
}
