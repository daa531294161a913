package io.moefleet.sampling;

/** Small operations on a vector of logits. */
public final class Logits {

    private Logits() {}

    /**
     * The id of the largest logit; on an exact tie the lowest id, so greedy decoding is reproducible.
     * The logits must not contain NaN.
     */
    public static int argmax(float[] logits) {
        if (logits.length == 0) {
            throw new IllegalArgumentException("logits must not be empty");
        }
        int best = 0;
        for (int id = 1; id < logits.length; id++) {
            if (logits[id] > logits[best]) {
                best = id;
            }
        }
        return best;
    }
}
