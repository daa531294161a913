package io.moefleet.model.forward;

/** cos/sin of every rope pair for the consecutive positions of one chunk, computed once and shared by all layers. */
final class RopeTable {

    private final int start;
    private final float[][] cos;
    private final float[][] sin;

    RopeTable(Rope rope, int pairs, int start, int count) {
        this.start = start;
        this.cos = new float[count][pairs];
        this.sin = new float[count][pairs];
        for (int i = 0; i < count; i++) {
            rope.angles(start + i, cos[i], sin[i]);
        }
    }

    float[] cos(int position) {
        return cos[position - start];
    }

    float[] sin(int position) {
        return sin[position - start];
    }
}
