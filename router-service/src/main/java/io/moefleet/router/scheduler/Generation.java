package io.moefleet.router.scheduler;

import io.moefleet.sampling.SamplingParams;
import java.util.Objects;
import java.util.Set;

/**
 * One sequence to generate: its prompt, how to sample, when to stop and where the tokens go. A request with
 * {@code n > 1} choices is {@code n} generations.
 *
 * @param maxTokens  the most tokens to sample (the caller caps it by what the context leaves)
 * @param stopTokens the ids that end the generation with STOP when sampled: the checkpoint's end-of-sequence ids
 *                   (unless the request ignores them) and the request's stop token ids; not part of the text
 * @param minTokens  before this many tokens are sampled, the stop tokens are masked out
 * @param logprobs   -1 for none, else how many most likely tokens to report beside each sampled one
 */
public record Generation(int[] prompt, SamplingParams sampling, int maxTokens, Set<Integer> stopTokens, int minTokens,
        int logprobs, TokenPolicy policy, GenerationListener listener) {

    public Generation {
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(listener, "listener");
        stopTokens = Set.copyOf(stopTokens);
        prompt = prompt.clone();
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        }
        if (minTokens < 0 || minTokens > maxTokens) {
            throw new IllegalArgumentException("minTokens must be in [0, maxTokens = " + maxTokens + "], got " + minTokens);
        }
        if (logprobs < -1) {
            throw new IllegalArgumentException("logprobs must be -1 (none) or >= 0, got " + logprobs);
        }
    }
}
