package io.moefleet.sampling;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * The tokens still eligible at one sampling step, with their weights, narrowed by the filters and then drawn from.
 * It reads the sampler's processed logits and owns scratch buffers sized to the vocabulary, allocated once.
 *
 * <p>A weight is the softmax numerator {@code exp((logit - maxLogit) / temperature)} in double, so the most probable
 * token weighs exactly 1. No filter removes that token, so it stays at 1 throughout a step.
 */
final class Candidates {

    /** Weights lie in (0, 1], so minus their binary exponent is 0 to 1023 (subnormals all report -1023). */
    private static final int WEIGHT_EXPONENT_BUCKETS = 1024;

    private final float[] logits;        // the sampler's processed logits, by token id
    private final int[] ids;             // the candidates' token ids; positions 0..count-1 are live
    private final double[] weights;      // by position
    private final long[] sortKeys;
    private final int[] countByExponent = new int[WEIGHT_EXPONENT_BUCKETS];
    private final double[] weightByExponent = new double[WEIGHT_EXPONENT_BUCKETS];
    private int count;
    private float maxLogit;
    private double temperature;
    /**
     * The total weight of the tokens no filter has removed: the live positions' sum, except right after
     * {@link #keepSortedHead}, which drops a tail only for the top-k or top-p step that follows it to remove.
     */
    private double survivingWeight;

    Candidates(float[] logits) {
        this.logits = logits;
        ids = new int[logits.length];
        weights = new double[logits.length];
        sortKeys = new long[logits.length];
    }

    /**
     * Starts a step with every token whose weight at this temperature is positive, in id order. Tokens at negative
     * infinity, and those whose weight underflows to 0, can never be drawn.
     */
    void weighAllowed(float maxLogit, double temperature) {
        this.maxLogit = maxLogit;
        this.temperature = temperature;
        count = 0;
        survivingWeight = 0;
        for (int id = 0; id < logits.length; id++) {
            double weight = weightOf(id);
            if (weight > 0) {
                ids[count] = id;
                weights[count++] = weight;
                survivingWeight += weight;
            }
        }
    }

    /**
     * Drops a tail that the following top-k (when on) or else top-p cannot keep, and sorts the rest by logit, largest
     * first, lowest id first among equals. This keeps the sort small: a histogram of the weights' binary exponents
     * finds the fewest exponent classes, most probable first, that hold k tokens or reach the top-p mass.
     */
    void keepSortedHead(int topK, double topP) {
        Arrays.fill(countByExponent, 0);
        Arrays.fill(weightByExponent, 0);
        for (int i = 0; i < count; i++) {
            int bucket = bucketOf(weights[i]);
            countByExponent[bucket]++;
            weightByExponent[bucket] += weights[i];
        }
        int lastBucket = 0;
        int headCount = countByExponent[0];
        double headWeight = weightByExponent[0];
        while (lastBucket < WEIGHT_EXPONENT_BUCKETS - 1
                && (topK > 0 ? headCount < topK : headWeight < topP * survivingWeight)) {
            lastBucket++;
            headCount += countByExponent[lastBucket];
            headWeight += weightByExponent[lastBucket];
        }
        int kept = 0;
        for (int i = 0; i < count; i++) {
            if (bucketOf(weights[i]) <= lastBucket) {
                sortKeys[kept++] = ((long) ~orderedBits(logits[ids[i]]) << 32) | ids[i];
            }
        }
        Arrays.sort(sortKeys, 0, kept);
        count = kept;
        for (int i = 0; i < count; i++) {
            ids[i] = (int) sortKeys[i];
            weights[i] = weightOf(ids[i]);
        }
    }

    /**
     * Keeps the tokens whose logit is at least the k-th largest (Hugging Face's TopKLogitsWarper, so ties with the
     * k-th all stay). Needs the sorted head.
     */
    void keepTopK(int k) {
        if (k < count) {
            float kthLargest = logits[ids[k - 1]];
            int kept = k;
            while (kept < count && logits[ids[kept]] == kthLargest) {
                kept++;
            }
            count = kept;
        }
        survivingWeight = liveWeight();
    }

    /**
     * Keeps the smallest most-probable prefix whose probability reaches topP, at least one token (Hugging Face's
     * TopPLogitsWarper). Needs the sorted head.
     */
    void keepTopP(double topP) {
        double threshold = topP * survivingWeight;
        double cumulative = 0;
        for (int i = 0; i < count; i++) {
            cumulative += weights[i];
            if (cumulative >= threshold) {
                count = i + 1;
                break;
            }
        }
        survivingWeight = liveWeight();
    }

    /** Keeps the tokens whose probability is at least minP times the largest, i.e. whose weight is at least minP. */
    void keepMinP(double minP) {
        int kept = 0;
        for (int i = 0; i < count; i++) {
            if (weights[i] >= minP) {
                ids[kept] = ids[i];
                weights[kept++] = weights[i];
            }
        }
        count = kept;
        survivingWeight = liveWeight();
    }

    /** Draws one candidate with probability proportional to its weight. */
    int draw(RandomGenerator random) {
        double target = random.nextDouble() * survivingWeight;
        double cumulative = 0;
        for (int i = 0; i < count; i++) {
            cumulative += weights[i];
            if (target < cumulative) {
                return ids[i];
            }
        }
        return ids[count - 1];                     // target rounded up to the total: the last token's share
    }

    private double weightOf(int id) {
        return Math.exp(((double) logits[id] - maxLogit) / temperature);
    }

    private double liveWeight() {
        double total = 0;
        for (int i = 0; i < count; i++) {
            total += weights[i];
        }
        return total;
    }

    private static int bucketOf(double weight) {
        return -Math.getExponent(weight);
    }

    /** The float's bits as an int that orders like the float (for non-NaN values). */
    private static int orderedBits(float value) {
        int bits = Float.floatToIntBits(value + 0f);   // + 0f turns -0 into +0: equal logits get equal keys
        return bits ^ ((bits >> 31) & 0x7FFFFFFF);
    }
}
