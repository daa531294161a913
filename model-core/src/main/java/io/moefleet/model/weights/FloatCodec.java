package io.moefleet.model.weights;

import io.moefleet.model.CheckpointException;
import io.moefleet.model.safetensors.DType;
import io.moefleet.model.safetensors.TensorInfo;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Reads floating-point tensor elements (BF16, F16, F32, little-endian) as float32; all three are exact in float32. */
public final class FloatCodec {

    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** A float32 as safetensors and the wire store it: little-endian, at any byte offset. */
    public static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private FloatCodec() {}

    public static boolean isFloat(DType d) {
        return d == DType.BF16 || d == DType.F16 || d == DType.F32;
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Element {@code index} of a BF16, F16 or F32 array. */
    public static float get(MemorySegment data, DType dtype, long index) {
        return switch (dtype) {
            case BF16 -> bf16ToFloat(data.get(SHORT_LE, index * 2));
            case F16 -> Float.float16ToFloat(data.get(SHORT_LE, index * 2));
            case F32 -> data.get(FLOAT_LE, index * 4);
            default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        };
    }

    /** A 1-D float tensor (norm weights, router bias) of exactly {@code length} elements, copied to the heap. */
    public static float[] vector(TensorInfo t, int length) {
        if (!isFloat(t.dtype())) {
            throw new CheckpointException("tensor " + t.describe() + " must be BF16, F16 or F32");
        }
        if (t.shape().length != 1 || t.shape()[0] != length) {
            throw new CheckpointException("tensor " + t.describe() + " must have shape [" + length + "] by config.json");
        }
        return floats(t);
    }

    /** Every element of a BF16, F16 or F32 tensor, copied to the heap (norms, biases, quantisation scales). */
    public static float[] floats(TensorInfo t) {
        int n = Math.toIntExact(t.elementCount());
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = get(t.data(), t.dtype(), i);
        }
        return v;
    }
}
