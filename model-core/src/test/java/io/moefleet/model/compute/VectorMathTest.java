package io.moefleet.model.compute;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moefleet.model.SameBits;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The vector kernels against their scalar references, on lengths with and without a ragged tail; and {@code axpy} from
 * little-endian bytes in memory (how the router reads an expert shard's answer) bitwise the array form.
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
        float[] fromArray = gaussian(random, n);
        float[] fromBytes = fromArray.clone();
        VectorMath.axpy(-1.25f, x, 0, fromArray, 0, n);
        VectorMath.axpy(-1.25f, MemorySegment.ofBuffer(shifted.asReadOnlyBuffer()), (long) offsetFloats * Float.BYTES, fromBytes, 0, n);
        SameBits.assertRows(new float[][] {fromArray}, new float[][] {fromBytes}, "axpy from bytes");
    }

    private static float[] gaussian(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }
}
