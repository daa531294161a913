package io.moefleet.model.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Vector kernels over plain float arrays (attention scores and sums), each beside its scalar reference. */
public final class VectorMath {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private VectorMath() {}

    /** Σ a[i] b[i] over n elements. */
    public static float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        int full = n - n % F.length();
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < full; i += F.length()) {
            acc = FloatVector.fromArray(F, a, aOffset + i).fma(FloatVector.fromArray(F, b, bOffset + i), acc);
        }
        float sum = Lanes.sum(acc);
        for (int i = full; i < n; i++) {
            sum += a[aOffset + i] * b[bOffset + i];
        }
        return sum;
    }

    static float referenceDot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        float sum = 0;
        for (int i = 0; i < n; i++) {
            sum += a[aOffset + i] * b[bOffset + i];
        }
        return sum;
    }

    /** y[i] += k x[i] over n elements. */
    public static void axpy(float k, float[] x, int xOffset, float[] y, int yOffset, int n) {
        int full = n - n % F.length();
        FloatVector kv = FloatVector.broadcast(F, k);
        for (int i = 0; i < full; i += F.length()) {
            FloatVector.fromArray(F, x, xOffset + i).fma(kv, FloatVector.fromArray(F, y, yOffset + i)).intoArray(y, yOffset + i);
        }
        for (int i = full; i < n; i++) {
            y[yOffset + i] += k * x[xOffset + i];
        }
    }

    static void referenceAxpy(float k, float[] x, int xOffset, float[] y, int yOffset, int n) {
        for (int i = 0; i < n; i++) {
            y[yOffset + i] += k * x[xOffset + i];
        }
    }
}
