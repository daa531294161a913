package io.moefleet.model.forward;

import io.moefleet.model.compute.VectorMath;

/**
 * Each token's chosen experts' outputs, unweighted, where a combine reads them ({@link LocalExperts#addWeighted}): rows
 * computed in this process, or the bytes an expert shard answered, read in place.
 */
@FunctionalInterface
public interface ExpertOutputs {

    /**
     * {@code out[0 .. hidden) += weight · (the output of token t's k-th chosen expert)}, with {@link VectorMath#axpy},
     * whose forms over an array and over bytes in memory perform the same operations: the same bits either way.
     */
    void addScaled(int t, int k, float weight, float[] out, int hidden);

    /** Outputs as rows in memory, {@code rows[t][k]}. */
    static ExpertOutputs rows(float[][][] rows) {
        return (t, k, weight, out, hidden) -> VectorMath.axpy(weight, rows[t][k], 0, out, 0, hidden);
    }
}
