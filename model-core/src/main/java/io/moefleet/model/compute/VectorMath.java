package io.moefleet.model.compute;

import static io.moefleet.model.weights.FloatCodec.FLOAT_LE;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector kernels over plain float arrays (attention scores and sums, the SwiGLU activation), each beside its scalar
 * reference; {@link #axpy} also reads from little-endian floats in memory (an expert shard's answer, in place).
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

    /*
     * SiLU, x / (1 + e^-x), with e^y in float32 from its own few operations (Cephes' expf: y = n ln2 + r with n the
     * nearest integer to y log2 e and |r| <= ln2 / 2; e^r a degree-7 polynomial; 2^n put into the exponent bits), so that
     * the vector form and the scalar form perform the same IEEE operations and give the same bits: a row's activation
     * may fall in a vector or in a tail depending on the rows a thread is given. Within 2 ulp of e^y over the clamped
     * range. Math.exp per element was about a twentieth of a 128-token prefill.
     */
    private static final float EXP_LOWEST = -87f;      // e^-87 is still a normal float; below it 1 + e^y is 1 anyway
    private static final float EXP_HIGHEST = 88f;      // 2^127 times the polynomial stays finite; above it e^y is taken as infinite
    private static final float LOG2_E = 1.44269504088896341f;
    private static final float LN2_HIGH = 0.693359375f;
    private static final float LN2_LOW = -2.12194440e-4f;
    private static final float ROUNDING = 12582912f;    // 1.5 * 2^23: adding it rounds to an integer, kept in the low bits
    private static final int ROUNDING_BITS = Float.floatToRawIntBits(ROUNDING);
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f,
            P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /** {@code silu(x) = x / (1 + e^-x)}, the scalar form of {@link #siluTimes}. */
    public static float silu(float x) {
        float y = Math.min(Math.max(-x, EXP_LOWEST), EXP_HIGHEST);
        float shifted = Math.fma(y, LOG2_E, ROUNDING);
        float n = shifted - ROUNDING;
        float r = Math.fma(n, -LN2_HIGH, y);
        r = Math.fma(n, -LN2_LOW, r);
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(P0, r, P1), r, P2), r, P3), r, P4), r, P5);
        float e = Math.fma(p, r * r, r) + 1f;
        float scale = Float.intBitsToFloat((Float.floatToRawIntBits(shifted) - ROUNDING_BITS + 127) << 23);
        return x / (x < -EXP_HIGHEST ? Float.POSITIVE_INFINITY : Math.fma(e, scale, 1f));
    }

    /** {@code up[i] = silu(gate[i]) * up[i]} over n elements: each element exactly {@link #silu}{@code (gate[i]) * up[i]}. */
    public static void siluTimes(float[] gate, int gateOffset, float[] up, int upOffset, int n) {
        int full = n - n % F.length();
        for (int i = 0; i < full; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, gate, gateOffset + i);
            FloatVector y = x.neg().max(EXP_LOWEST).min(EXP_HIGHEST);
            FloatVector shifted = y.fma(LOG2_E, ROUNDING);
            FloatVector n2 = shifted.sub(ROUNDING);                    // n, as a float
            FloatVector r = n2.fma(FloatVector.broadcast(F, -LN2_HIGH), y);
            r = n2.fma(FloatVector.broadcast(F, -LN2_LOW), r);
            FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(F, P2)).fma(r, FloatVector.broadcast(F, P3))
                    .fma(r, FloatVector.broadcast(F, P4)).fma(r, FloatVector.broadcast(F, P5));
            FloatVector e = p.fma(r.mul(r), r).add(1f);
            FloatVector scale = shifted.reinterpretAsInts().sub(ROUNDING_BITS - 127)
                    .lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector denominator = e.fma(scale, FloatVector.broadcast(F, 1f))
                    .blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.LT, -EXP_HIGHEST));
            x.div(denominator).mul(FloatVector.fromArray(F, up, upOffset + i)).intoArray(up, upOffset + i);
        }
        for (int i = full; i < n; i++) {
            up[upOffset + i] = silu(gate[gateOffset + i]) * up[upOffset + i];
        }
    }
}
