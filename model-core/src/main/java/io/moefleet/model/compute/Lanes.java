package io.moefleet.model.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Horizontal sums in one fixed order. {@code reduceLanes(ADD)} leaves the order to the implementation: the
 * interpreter's fallback adds lanes one by one, C2's intrinsic as a tree, so a result would change bits once the
 * code warms up. Folding halves with exact lane-wise adds gives the same bits cold or compiled.
 */
public final class Lanes {

    public static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorShuffle<Float>[] FOLDS = folds();

    private Lanes() {}

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] folds() {
        int steps = Integer.numberOfTrailingZeros(F.length());
        VectorShuffle<Float>[] folds = new VectorShuffle[steps];
        for (int s = 0, half = F.length() / 2; s < steps; s++, half /= 2) {
            int distance = half;
            folds[s] = VectorShuffle.fromOp(F, i -> i ^ distance);
        }
        return folds;
    }

    /** Σ of the lanes: lane i is added to lane i + L/2, then i + L/4, ..., down to lane 0. */
    public static float sum(FloatVector v) {
        for (VectorShuffle<Float> fold : FOLDS) {
            v = v.add(v.rearrange(fold));
        }
        return v.lane(0);
    }
}
