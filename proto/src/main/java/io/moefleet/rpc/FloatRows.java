package io.moefleet.rpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Rows of floats as the wire carries them: float32 little-endian, row-major, in one {@code bytes} field. Encoding
 * writes into a fresh array that the message then wraps without a copy; decoding reads straight from the received
 * bytes' read-only buffer.
 */
public final class FloatRows {

    /**
     * The largest message either side accepts (gRPC's default is 4 MiB): a prefill chunk of 4096 tokens of Kimi K2's
     * 7168 floats is 117 MB, and a chunk that large is the router's choice, not an attack.
     */
    public static final int MAX_MESSAGE_BYTES = 256 << 20;

    private FloatRows() {}

    /** Rows {@code rows[which[0]], rows[which[1]], ...} (each {@code width} floats) as one wire tensor. */
    public static ByteString encode(float[][] rows, int[] which, int width) {
        byte[] bytes = new byte[Math.multiplyExact(which.length, width * Float.BYTES)];
        FloatBuffer out = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        for (int row : which) {
            out.put(rows[row], 0, width);
        }
        return UnsafeByteOperations.unsafeWrap(bytes);   // the array is never written again
    }

    /** The first {@code n} rows of {@code rows} as one wire tensor. */
    public static ByteString encode(float[][] rows, int n, int width) {
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            all[i] = i;
        }
        return encode(rows, all, width);
    }

    /** The wire tensor's rows, each {@code width} floats; the caller has checked the size. */
    public static float[][] decode(ByteString bytes, int rows, int width) {
        FloatBuffer in = floats(bytes);
        float[][] out = new float[rows][width];
        for (float[] row : out) {
            in.get(row);
        }
        return out;
    }

    /** Writes the wire tensor's row i over {@code out[targets[i]]}; the caller has checked the size. */
    public static void copyInto(ByteString bytes, int[] targets, float[][] out, int width) {
        FloatBuffer in = floats(bytes);
        for (int target : targets) {
            in.get(out[target], 0, width);
        }
    }

    /**
     * The wire tensor's bytes, read in place (float32 little-endian at byte {@code 4 * (row * width + column)}): no copy
     * where the message holds them in one piece, as a parsed message does.
     */
    public static MemorySegment inPlace(ByteString bytes) {
        return MemorySegment.ofBuffer(bytes.asReadOnlyByteBuffer());
    }

    /** The byte size of {@code rows} rows of {@code width} floats. */
    public static long byteSize(int rows, int width) {
        return (long) rows * width * Float.BYTES;
    }

    private static FloatBuffer floats(ByteString bytes) {
        return bytes.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }
}
