package io.moefleet.model.compute;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.SameBits;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The vector kernels against their scalar references, on lengths with and without a ragged tail; and {@code axpy} from
 * little-endian bytes in memory (how the router reads an expert shard's answer) bitwise the array form; SiLU's vector
 * form bitwise its scalar form wherever an element falls; the exponential, SiLU and softmax close to the exact functions.
 */
class VectorMathTest {

    @ParameterizedTest(name = "n = {0}")
    @ValueSource(ints = {1, 7, 16, 17, 64, 100, 1027})
    void dotAndAxpyAgreeWithTheirReferences(int n) {
        SplittableRandom random = new SplittableRandom(n);
        float[] a = gaussian(random, n + 3);
        float[] b = gaussian(random, n + 5);
        double magnitude = 0;
        for (int i = 0; i < n; i++) {
            magnitude += Math.abs((double) a[3 + i] * b[5 + i]);
        }
        assertEquals(VectorMath.referenceDot(a, 3, b, 5, n), VectorMath.dot(a, 3, b, 5, n), 1e-6 * magnitude + 1e-30);

        float[] y = gaussian(random, n + 2);
        float[] expected = y.clone();
        VectorMath.referenceAxpy(0.37f, a, 3, expected, 2, n);
        VectorMath.axpy(0.37f, a, 3, y, 2, n);
        assertArrayEquals(expected, y, 1e-5f);
    }

    @ParameterizedTest(name = "n = {0}")
    @ValueSource(ints = {1, 7, 16, 17, 64, 100, 1027})
    void axpyFromBytesInMemoryIsBitwiseTheArrayForm(int n) {
        SplittableRandom random = new SplittableRandom(31L * n);
        float[] x = gaussian(random, n);
        int offsetFloats = 5;                                    // a row that starts inside the buffer, unaligned
        ByteBuffer bytes = ByteBuffer.allocate((offsetFloats + n) * Float.BYTES + 1).order(ByteOrder.LITTLE_ENDIAN);
        bytes.position(1);
        ByteBuffer shifted = bytes.slice().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            shifted.putFloat((offsetFloats + i) * Float.BYTES, x[i]);
        }
        // the same bytes off the heap (a message parsed into direct buffers), unaligned as well
        ByteBuffer direct = ByteBuffer.allocateDirect(shifted.capacity() + 1).position(1).slice();
        direct.put(shifted.duplicate().clear()).clear();
        float[] start = gaussian(random, n);
        float[] fromArray = start.clone();
        float[] fromHeap = start.clone();
        float[] fromDirect = start.clone();
        long at = (long) offsetFloats * Float.BYTES;
        VectorMath.axpy(-1.25f, x, 0, fromArray, 0, n);
        VectorMath.axpy(-1.25f, MemorySegment.ofBuffer(shifted.asReadOnlyBuffer()), at, fromHeap, 0, n);
        VectorMath.axpy(-1.25f, MemorySegment.ofBuffer(direct.asReadOnlyBuffer()), at, fromDirect, 0, n);
        SameBits.assertRows(new float[][] {fromArray}, new float[][] {fromHeap}, "axpy from bytes on the heap");
        SameBits.assertRows(new float[][] {fromArray}, new float[][] {fromDirect}, "axpy from bytes off the heap");
    }

    /** Values where the exponential's range reduction and clamping change course, and the IEEE specials. */
    private static final float[] EDGES = {0f, -0f, 1e-8f, -1e-8f, Float.MIN_VALUE, -Float.MIN_VALUE, 0.3465736f, -0.3465736f,
        0.34657362f, 1f, -1f, 20f, -20f, 86.9f, -86.9f, 87f, -87f, 87.5f, -87.5f, 88f, -88f, 89f, -89f, 100f, -100f,
        1e30f, -1e30f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN};

    @ParameterizedTest(name = "n = {0}")
    @ValueSource(ints = {1, 7, 16, 17, 33, 64, 100, 1027})
    void siluTimesIsBitwiseTheScalarSiluWhereverAnElementFalls(int n) {
        SplittableRandom random = new SplittableRandom(7L * n);
        float[] gate = new float[n + 3];
        for (int i = 0; i < gate.length; i++) {
            gate[i] = i % 5 == 0 ? EDGES[random.nextInt(EDGES.length)] : (float) (8 * random.nextGaussian());
        }
        float[] up = gaussian(random, n + 2);
        for (int shift = 0; shift < 3; shift++) {       // the same elements in other lanes, or in the tail
            float[] vector = up.clone();
            VectorMath.siluTimes(gate, shift, vector, 2, n - shift);
            for (int i = 0; i < n - shift; i++) {
                float expected = VectorMath.silu(gate[shift + i]) * up[2 + i];
                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(vector[2 + i]),
                        "element " + i + " (gate " + gate[shift + i] + ")");
            }
        }
    }

    @Test
    void expIsWithinTwoUlpOfTheExactFunction() {
        for (float y = -87f; y <= 88f; y = Math.nextUp(y + 1e-3f * Math.max(1f, Math.abs(y)))) {
            double exact = Math.exp(y);
            float ours = VectorMath.exp(y);
            assertTrue(Math.abs(ours - exact) <= 2 * Math.ulp((float) exact), "exp(" + y + ") = " + ours + ", exactly " + exact);
        }
        assertEquals(1f, VectorMath.exp(0f));
        assertEquals(1f, VectorMath.exp(-0f));
        assertEquals(0f, VectorMath.exp(-87.5f));
        assertEquals(0f, VectorMath.exp(Float.NEGATIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.exp(88.5f));
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.exp(Float.POSITIVE_INFINITY));
        assertTrue(Float.isNaN(VectorMath.exp(Float.NaN)));
    }

    @ParameterizedTest(name = "n = {0}")
    @ValueSource(ints = {1, 7, 16, 17, 100, 1027})
    void softmaxAgreesWithTheExactOne(int n) {
        SplittableRandom random = new SplittableRandom(13L * n);
        float[] v = gaussian(random, n);
        v[n / 2] = -200f;                                          // far below the maximum: weight 0
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            v[i] *= 6;
            max = Math.max(max, v[i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp((float) (v[i] - max));                // the argument as softmax rounds it, in float
        }
        float[] ours = v.clone();
        VectorMath.softmax(ours, n);
        double bound = (n + 4) * 0x1p-24;                         // a float sum of n positive terms, 2 ulp of exp, the scaling
        for (int i = 0; i < n; i++) {
            double exact = Math.exp((float) (v[i] - max)) / sum;
            assertEquals(exact, ours[i], bound * exact + 1e-30, "element " + i);
        }
    }

    @Test
    void siluIsWithinTwoUlpOfTheExactFunction() {
        for (float x = -87f; x <= 87f; x = Math.nextUp(x + 1e-3f * Math.max(1f, Math.abs(x)))) {
            double exact = x / (1 + Math.exp(-(double) x));
            float ours = VectorMath.silu(x);
            assertTrue(Math.abs(ours - exact) <= 2 * Math.ulp((float) exact) + Float.MIN_NORMAL,
                    "silu(" + x + ") = " + ours + ", exactly " + exact);
        }
        for (float x : EDGES) {
            float ours = VectorMath.silu(x);
            if (Float.isNaN(x)) {
                assertTrue(Float.isNaN(ours));
            } else if (x > 87f) {
                assertEquals(x, ours, "silu of a large x is x");
            } else if (x == Float.NEGATIVE_INFINITY) {
                assertTrue(Float.isNaN(ours), "-inf / (1 + e^inf) is NaN, as with Math.exp");
            } else if (x < -87f) {
                assertTrue(ours <= 0f && ours >= -1e-30f, "silu(" + x + ") = " + ours + " should be next to -0");
            } else if (x == 0f) {
                assertEquals(Float.floatToRawIntBits(x), Float.floatToRawIntBits(ours), "silu keeps the zero's sign");
            }
        }
    }

    private static float[] gaussian(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }
}
