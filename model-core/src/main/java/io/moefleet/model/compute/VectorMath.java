package io.moefleet.model.compute;

import static io.moefleet.model.weights.FloatCodec.FLOAT_LE;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector kernels over plain float arrays (attention scores and sums), each beside its scalar reference; {@link #axpy}
 * also reads from little-endian floats in memory (an expert shard's answer, in place).
 */
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

    /**
     * y[i] += k x[i] over n elements, x read in place as little-endian floats from byte {@code xOffset} of
     * {@code x}: the same operations as the array form, so the same bits.
     */
    public static void axpy(float k, MemorySegment x, long xOffset, float[] y, int yOffset, int n) {
        int full = n - n % F.length();
        FloatVector kv = FloatVector.broadcast(F, k);
        for (int i = 0; i < full; i += F.length()) {
            FloatVector.fromMemorySegment(F, x, xOffset + (long) i * Float.BYTES, ByteOrder.LITTLE_ENDIAN)
                    .fma(kv, FloatVector.fromArray(F, y, yOffset + i)).intoArray(y, yOffset + i);
        }
        for (int i = full; i < n; i++) {
            y[yOffset + i] += k * x.get(FLOAT_LE, xOffset + (long) i * Float.BYTES);
        }
    }

    static void referenceAxpy(float k, float[] x, int xOffset, float[] y, int yOffset, int n) {
        for (int i = 0; i < n; i++) {
            y[yOffset + i] += k * x[xOffset + i];
        }
    }

    /** In-place softmax of {@code v[0 .. n)} in float32 with the maximum subtracted. */
    public static void softmax(float[] v, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, v[i]);
        }
        float sum = 0;
        for (int i = 0; i < n; i++) {
            v[i] = (float) Math.exp(v[i] - max);
            sum += v[i];
        }
        float inv = 1 / sum;
        for (int i = 0; i < n; i++) {
            v[i] *= inv;
        }
    }
}
