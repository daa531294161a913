package io.moefleet.trainer;

import io.moefleet.model.forward.Rope;

/**
 * model-core's {@link Rope} (YaRN frequencies, adjacent pairs) with its cos/sin for positions {@code 0 .. n)} kept.
 * Rotation is orthogonal, so its backward is the rotation by the negated angle: {@link #rotateBack}.
 */
final class RopeAngles {

    private final Rope rope;
    private final int pairs;
    private float[][] cos = new float[0][];
    private float[][] sin = new float[0][];
    private float[][] negatedSin = new float[0][];

    RopeAngles(Rope rope, int ropeDim) {
        this.rope = rope;
        this.pairs = ropeDim / 2;
    }

    void ensure(int positions) {
        if (cos.length >= positions) {
            return;
        }
        cos = new float[positions][pairs];
        sin = new float[positions][pairs];
        negatedSin = new float[positions][pairs];
        for (int p = 0; p < positions; p++) {
            rope.angles(p, cos[p], sin[p]);
            for (int i = 0; i < pairs; i++) {
                negatedSin[p][i] = -sin[p][i];
            }
        }
    }

    void rotate(float[] v, int offset, int position) {
        rope.rotate(v, offset, cos[position], sin[position]);
    }

    void rotateBack(float[] v, int offset, int position) {
        rope.rotate(v, offset, cos[position], negatedSin[position]);
    }
}
