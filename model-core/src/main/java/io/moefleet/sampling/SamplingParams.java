package io.moefleet.sampling;

import java.util.Map;
import java.util.OptionalLong;

/**
 * One request's sampling settings, immutable. Every setting has an "off" value, and {@link #builder()} starts
 * from all of them off with temperature 1, i.e. an unmodified draw from the model's distribution.
 *
 * @param temperature       {@code >= 0}; 0 means greedy (argmax), and then top-k, top-p, min-p and the seed do not matter
 * @param topK              0 or -1 = off (vLLM sends -1), else {@code >= 1}: keep the tokens whose logit is at least the
 *                          k-th largest (all tokens tied with the k-th are kept, as Hugging Face does)
 * @param topP              in (0, 1]; 1 = off: keep the smallest most-probable prefix whose probability reaches topP
 * @param minP              in [0, 1]; 0 = off: keep the tokens whose probability is at least minP times the largest
 * @param presencePenalty   in [-2, 2], OpenAI meaning, over generated tokens only: subtracted once from the logit
 *                          of every token generated so far
 * @param frequencyPenalty  in [-2, 2], OpenAI meaning, over generated tokens only: subtracted once per time the token
 *                          was generated
 * @param repetitionPenalty {@code > 0}; 1 = off. Hugging Face meaning, over the prompt's and the generated tokens:
 *                          a positive logit is divided by it, any other multiplied by it
 * @param logitBias         token id to a bias in [-100, 100] (OpenAI's range) added to that token's logit
 * @param seed              the random generator's seed; empty = a random seed chosen once per request
 */
public record SamplingParams(
        double temperature,
        int topK,
        double topP,
        double minP,
        double presencePenalty,
        double frequencyPenalty,
        double repetitionPenalty,
        Map<Integer, Float> logitBias,
        OptionalLong seed) {

    /** OpenAI's limit on a logit bias. */
    public static final float MAX_LOGIT_BIAS = 100f;

    /** OpenAI's limit on the presence and frequency penalties. */
    public static final double MAX_PENALTY = 2.0;

    public SamplingParams {
        if (!(temperature >= 0 && temperature < Double.POSITIVE_INFINITY)) {
            throw invalid("temperature", "a finite number >= 0 (0 = greedy)", temperature);
        }
        if (topK < -1) {
            throw invalid("topK", "0 or -1 (off) or >= 1", topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw invalid("topP", "in (0, 1] (1 = off)", topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw invalid("minP", "in [0, 1] (0 = off)", minP);
        }
        requirePenalty("presencePenalty", presencePenalty);
        requirePenalty("frequencyPenalty", frequencyPenalty);
        if (!(repetitionPenalty > 0 && repetitionPenalty < Double.POSITIVE_INFINITY)) {
            throw invalid("repetitionPenalty", "a finite number > 0 (1 = off)", repetitionPenalty);
        }
        if (logitBias == null) {
            throw new IllegalArgumentException("logitBias must not be null (use an empty map for none)");
        }
        for (Map.Entry<Integer, Float> bias : logitBias.entrySet()) {
            requireBias(bias.getKey(), bias.getValue());
        }
        logitBias = Map.copyOf(logitBias);
        if (seed == null) {
            throw new IllegalArgumentException("seed must not be null (use OptionalLong.empty() for a random seed)");
        }
    }

    /** Argmax decoding with every other setting off. */
    public static SamplingParams greedy() {
        return builder().temperature(0).build();
    }

    /** A builder starting from temperature 1 and every other setting off. */
    public static Builder builder() {
        return new Builder();
    }

    /** Whether top-k filtering is on. */
    boolean topKEnabled() {
        return topK > 0;
    }

    /** Whether top-p filtering is on. */
    boolean topPEnabled() {
        return topP < 1;
    }

    /** Whether min-p filtering is on. */
    boolean minPEnabled() {
        return minP > 0;
    }

    private static void requirePenalty(String field, double penalty) {
        if (!(penalty >= -MAX_PENALTY && penalty <= MAX_PENALTY)) {
            throw invalid(field, "in [-2, 2] (0 = off)", penalty);
        }
    }

    private static void requireBias(Integer tokenId, Float bias) {
        if (tokenId == null || tokenId < 0) {
            throw new IllegalArgumentException("logitBias keys must be token ids >= 0, got " + tokenId);
        }
        if (bias == null || !(bias >= -MAX_LOGIT_BIAS && bias <= MAX_LOGIT_BIAS)) {
            throw new IllegalArgumentException(
                    "logitBias[" + tokenId + "] must be in [-100, 100], got " + bias);
        }
    }

    private static IllegalArgumentException invalid(String field, String allowed, Object value) {
        return new IllegalArgumentException(field + " must be " + allowed + ", got " + value);
    }

    /** Builds {@link SamplingParams}; {@link #build()} validates. */
    public static final class Builder {

        private double temperature = 1.0;
        private int topK = 0;
        private double topP = 1.0;
        private double minP = 0.0;
        private double presencePenalty = 0.0;
        private double frequencyPenalty = 0.0;
        private double repetitionPenalty = 1.0;
        private Map<Integer, Float> logitBias = Map.of();
        private OptionalLong seed = OptionalLong.empty();

        private Builder() {}

        public Builder temperature(double temperature) {
            this.temperature = temperature;
            return this;
        }

        public Builder topK(int topK) {
            this.topK = topK;
            return this;
        }

        public Builder topP(double topP) {
            this.topP = topP;
            return this;
        }

        public Builder minP(double minP) {
            this.minP = minP;
            return this;
        }

        public Builder presencePenalty(double presencePenalty) {
            this.presencePenalty = presencePenalty;
            return this;
        }

        public Builder frequencyPenalty(double frequencyPenalty) {
            this.frequencyPenalty = frequencyPenalty;
            return this;
        }

        public Builder repetitionPenalty(double repetitionPenalty) {
            this.repetitionPenalty = repetitionPenalty;
            return this;
        }

        public Builder logitBias(Map<Integer, Float> logitBias) {
            this.logitBias = logitBias;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = OptionalLong.of(seed);
            return this;
        }

        public Builder seed(OptionalLong seed) {
            this.seed = seed;
            return this;
        }

        public SamplingParams build() {
            return new SamplingParams(temperature, topK, topP, minP, presencePenalty, frequencyPenalty,
                    repetitionPenalty, logitBias, seed);
        }
    }
}
