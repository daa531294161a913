package io.moefleet.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;

/** Little-endian values appended to a file channel through one reusable buffer. */
final class TensorOutput {
    private static final int BUFFER_BYTES = 1 << 20;

    private final FileChannel channel;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private long flushed;

    TensorOutput(FileChannel channel) {
        this.channel = channel;
    }

    /** Bytes appended so far. */
    long position() {
        return flushed + buffer.position();
    }

    void putInt(int value) throws IOException {
        ensure(4);
        buffer.putInt(value);
    }

    void putBytes(byte[] values, int offset, int length) throws IOException {
        while (length > 0) {
            ensure(1);
            int n = Math.min(length, buffer.remaining());
            buffer.put(values, offset, n);
            offset += n;
            length -= n;
        }
    }

    /** Appends {@code values[offset .. offset + length)} as float32, in bulk (the hot path of every writer). */
    void putFloats(float[] values, int offset, int length) throws IOException {
        while (length > 0) {
            ensure(4);
            int n = Math.min(length, buffer.remaining() / 4);
            buffer.asFloatBuffer().put(values, offset, n);
            buffer.position(buffer.position() + 4 * n);
            offset += n;
            length -= n;
        }
    }

    void putShorts(short[] values, int offset, int length) throws IOException {
        while (length > 0) {
            ensure(2);
            int n = Math.min(length, buffer.remaining() / 2);
            buffer.asShortBuffer().put(values, offset, n);
            buffer.position(buffer.position() + 2 * n);
            offset += n;
            length -= n;
        }
    }

    void putInts(int[] values, int offset, int length) throws IOException {
        while (length > 0) {
            ensure(4);
            int n = Math.min(length, buffer.remaining() / 4);
            buffer.asIntBuffer().put(values, offset, n);
            buffer.position(buffer.position() + 4 * n);
            offset += n;
            length -= n;
        }
    }

    void flush() throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) {
            flushed += channel.write(buffer);
        }
        buffer.clear();
    }

    private void ensure(int bytes) throws IOException {
        if (buffer.remaining() < bytes) {
            flush();
        }
    }
}
