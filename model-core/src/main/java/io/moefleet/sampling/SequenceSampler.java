package io.moefleet.sampling;

import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * One sequence's sampler. It owns its random generator, seeded from {@link SamplingParams#seed()}, so a request's
 * draws never depend on its batch-mates or on the order requests are sampled in. Not thread-safe; one per sequence.
 *
 * <p>Each step runs, in this order: the mask; the logit bias; the presence and frequency penalties over the
 * generated tokens; the repetition penalty over the prompt's and the generated tokens; then either argmax
 * (temperature 0) or temperature, top-k, top-p, min-p and a draw from what remains.
 */
public final class SequenceSampler {

    private final SamplingParams params;
    private final long seed;
    private final RandomGenerator random;
    private final TokenHistory history;
    private final float[] processed;       // this step's logits after the processors; the caller's array stays as is
    private final Candidates candidates;

    public SequenceSampler(SamplingParams params, int[] promptTokens, int vocabSize) {
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(promptTokens, "promptTokens");
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabSize must be >= 1, got " + vocabSize);
        }
        for (int tokenId : params.logitBias().keySet()) {
            if (tokenId >= vocabSize) {
                throw new IllegalArgumentException(
                        "logitBias key " + tokenId + " is not a token id in [0, " + vocabSize + ")");
            }
        }
        this.params = params;
        this.seed = params.seed().orElseGet(() -> ThreadLocalRandom.current().nextLong());
        this.random = new SplittableRandom(seed);
        this.history = new TokenHistory(promptTokens, vocabSize);
        this.processed = new float[vocabSize];
        this.candidates = new Candidates(processed);
    }

    /** Picks the next token from raw logits (length vocabSize; not modified), records it as generated, returns it. */
    public int next(float[] logits) {
        return next(logits, TokenMask.all());
    }

    /** As {@link #next(float[])}, with only the tokens the mask allows eligible. */
    public int next(float[] logits, TokenMask mask) {
        Objects.requireNonNull(mask, "mask");
        copyToProcessed(logits);
        applyMask(mask);
        addLogitBias();
        if (params.presencePenalty() != 0 || params.frequencyPenalty() != 0) {
            history.applyPresenceAndFrequencyPenalties(
                    processed, params.presencePenalty(), params.frequencyPenalty());
        }
        if (params.repetitionPenalty() != 1) {
            history.applyRepetitionPenalty(processed, params.repetitionPenalty());
        }
        int token = params.temperature() == 0 ? allowedArgmax() : draw();
        history.recordGenerated(token);
        return token;
    }

    /** The tokens picked so far, in order. */
    public int[] generated() {
        return history.generated();
    }

    /** The seed this sampler's generator started from: the requested one, or the one chosen for this request. */
    public long seed() {
        return seed;
    }

    private void copyToProcessed(float[] logits) {
        Objects.requireNonNull(logits, "logits");
        if (logits.length != processed.length) {
            throw new IllegalArgumentException(
                    "logits has length " + logits.length + ", the vocabulary has " + processed.length + " tokens");
        }
        for (int id = 0; id < logits.length; id++) {
            float logit = logits[id];
            // NaN or +inf would make every probability NaN; they mean the forward pass is broken
            if (Float.isNaN(logit) || logit == Float.POSITIVE_INFINITY) {
                throw new IllegalArgumentException("logit of token " + id + " is " + logit);
            }
            processed[id] = logit;
        }
    }

    private void applyMask(TokenMask mask) {
        for (int id = 0; id < processed.length; id++) {
            if (!mask.allowed(id)) {
                processed[id] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    private void addLogitBias() {
        for (Map.Entry<Integer, Float> bias : params.logitBias().entrySet()) {
            processed[bias.getKey()] += bias.getValue();
        }
    }

    /** The processed argmax, lowest id on ties; it fails when the mask left nothing to pick. */
    private int allowedArgmax() {
        int best = Logits.argmax(processed);
        if (processed[best] == Float.NEGATIVE_INFINITY) {
            throw new IllegalStateException(
                    "no token can be sampled: every logit is -infinity after the mask (was every token masked?)");
        }
        return best;
    }

    private int draw() {
        // temperature enters with the weights; top-k only compares logits, and temperature keeps their order
        candidates.weighAllowed(processed[allowedArgmax()], params.temperature());
        if (params.topKEnabled() || params.topPEnabled()) {
            candidates.keepSortedHead(params.topK(), params.topP());
        }
        if (params.topKEnabled()) {
            candidates.keepTopK(params.topK());
        }
        if (params.topPEnabled()) {
            candidates.keepTopP(params.topP());
        }
        if (params.minPEnabled()) {
            candidates.keepMinP(params.minP());
        }
        return candidates.draw(random);
    }
}
