package io.moefleet.model.compute;

import static io.moefleet.model.weights.FloatCodec.FLOAT_LE;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
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

    /** The bytes of one float vector; loaded as bytes and reinterpreted where the machine is little-endian. */
    private static final VectorSpecies<Byte> BYTES_OF_F = VectorSpecies.of(byte.class, F.vectorShape());
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    /**
     * y[i] += k x[i] over n elements, x read in place as little-endian floats from byte {@code xOffset} of
     * {@code x}: the same operations as the array form, so the same bits. The floats are loaded as a byte vector and
     * reinterpreted: C2 compiles a float load from a segment over a {@code byte[]} (a received message's bytes) to a
     * lane-by-lane fallback, 12 to 18 times slower than from an array (JDK 25, 1024 floats: 1200-1900 ns against 100),
     * while a byte load from it is one vector load like any other.
     */
    public static void axpy(float k, MemorySegment x, long xOffset, float[] y, int yOffset, int n) {
        int full = n - n % F.length();
        FloatVector kv = FloatVector.broadcast(F, k);
        for (int i = 0; i < full; i += F.length()) {
            long at = xOffset + (long) i * Float.BYTES;
            FloatVector xv = LITTLE_ENDIAN
                    ? (FloatVector) ByteVector.fromMemorySegment(BYTES_OF_F, x, at, ByteOrder.LITTLE_ENDIAN).reinterpretAsFloats()
                    : FloatVector.fromMemorySegment(F, x, at, ByteOrder.LITTLE_ENDIAN);
            xv.fma(kv, FloatVector.fromArray(F, y, yOffset + i)).intoArray(y, yOffset + i);
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

    /** In-place softmax of {@code v[0 .. n)} in float32 with the maximum subtracted; the sum in index order. */
    public static void softmax(float[] v, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, v[i]);
        }
        int full = n - n % F.length();
        for (int i = 0; i < full; i += F.length()) {
            exp(FloatVector.fromArray(F, v, i).sub(max)).intoArray(v, i);
        }
        for (int i = full; i < n; i++) {
            v[i] = exp(v[i] - max);
        }
        float sum = 0;
        for (int i = 0; i < n; i++) {
            sum += v[i];
        }
        float inv = 1 / sum;
        for (int i = 0; i < n; i++) {
            v[i] *= inv;
        }
    }

    /*
     * e^y in float32 from its own few operations (Cephes' expf: y = n ln2 + r with n the nearest integer to y log2 e and
     * |r| <= ln2 / 2; e^r = 1 + r + r^2 p(r) with p of degree 5; 2^n put into the exponent bits), in a vector form and a
     * scalar form that perform the same IEEE operations and so give the same bits: an element may fall in a vector or in
     * a tail depending on the rows a thread is given. Within 2 ulp of e^y; 0 below -87 (e^-87 is 1.6e-38) and infinite
     * above 88. Math.exp, one element at a time, was about a twentieth of a 128-token prefill in SiLU.
     */
    private static final float EXP_LOWEST = -87f;
    private static final float EXP_HIGHEST = 88f;      // 2^127 times e^r stays finite
    private static final float LOG2_E = 1.44269504088896341f;
    private static final float LN2_HIGH = 0.693359375f;
    private static final float LN2_LOW = -2.12194440e-4f;
    private static final float ROUNDING = 12582912f;    // 1.5 * 2^23: adding it rounds to an integer, kept in the low bits
    private static final int ROUNDING_BITS = Float.floatToRawIntBits(ROUNDING);
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f,
            P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /** e^y, the scalar form of the vector kernels' exponential. */
    public static float exp(float y) {
        float c = Math.min(Math.max(y, EXP_LOWEST), EXP_HIGHEST);
        float shifted = Math.fma(c, LOG2_E, ROUNDING);
        float n = shifted - ROUNDING;
        float r = Math.fma(n, -LN2_HIGH, c);
        r = Math.fma(n, -LN2_LOW, r);
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(P0, r, P1), r, P2), r, P3), r, P4), r, P5);
        float er = Math.fma(p, r * r, r) + 1f;
        float twoToN = Float.intBitsToFloat((Float.floatToRawIntBits(shifted) - ROUNDING_BITS + 127) << 23);
        return y > EXP_HIGHEST ? Float.POSITIVE_INFINITY : y < EXP_LOWEST ? 0f : er * twoToN;
    }

    /** {@link #exp(float)} of each lane. */
    private static FloatVector exp(FloatVector y) {
        FloatVector c = y.max(EXP_LOWEST).min(EXP_HIGHEST);
        FloatVector shifted = c.fma(LOG2_E, ROUNDING);
        FloatVector n = shifted.sub(ROUNDING);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HIGH), c);
        r = n.fma(FloatVector.broadcast(F, -LN2_LOW), r);
        FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(F, P2)).fma(r, FloatVector.broadcast(F, P3))
                .fma(r, FloatVector.broadcast(F, P4)).fma(r, FloatVector.broadcast(F, P5));
        FloatVector er = p.fma(r.mul(r), r).add(1f);
        FloatVector twoToN = shifted.reinterpretAsInts().sub(ROUNDING_BITS - 127).lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        return er.mul(twoToN)
                .blend(Float.POSITIVE_INFINITY, y.compare(VectorOperators.GT, EXP_HIGHEST))
                .blend(0f, y.compare(VectorOperators.LT, EXP_LOWEST));
    }

    /** {@code silu(x) = x / (1 + e^-x)}, the scalar form of {@link #siluTimes}. */
    public static float silu(float x) {
        return x / (1f + exp(-x));
    }

    /** {@code up[i] = silu(gate[i]) * up[i]} over n elements: each element exactly {@link #silu}{@code (gate[i]) * up[i]}. */
    public static void siluTimes(float[] gate, int gateOffset, float[] up, int upOffset, int n) {
        int full = n - n % F.length();
        for (int i = 0; i < full; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, gate, gateOffset + i);
            x.div(exp(x.neg()).add(1f)).mul(FloatVector.fromArray(F, up, upOffset + i)).intoArray(up, upOffset + i);
        }
        for (int i = full; i < n; i++) {
            up[upOffset + i] = silu(gate[gateOffset + i]) * up[upOffset + i];
        }
    }
}
