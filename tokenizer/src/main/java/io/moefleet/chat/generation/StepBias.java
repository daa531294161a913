package io.moefleet.chat.generation;

import io.moefleet.sampling.SamplingParams;
import java.util.Map;

/**
 * A logit bias that applies from one generation step on (step 0 picks the first new token), on top of the request's
 * constant {@code logit_bias}: how a caller steers a generation at a given point, e.g. towards {@code </think>}.
 */
public record StepBias(int fromStep, Map<Integer, Float> bias) {

    public StepBias {
        if (fromStep < 0) {
            throw new IllegalArgumentException("fromStep must be >= 0, got " + fromStep);
        }
        bias.forEach((id, value) -> {
            if (id < 0 || !(Math.abs(value) <= SamplingParams.MAX_LOGIT_BIAS)) {
                throw new IllegalArgumentException("bias " + value + " on token " + id + ": ids >= 0, biases in [-100, 100]");
            }
        });
        bias = Map.copyOf(bias);
    }
}
