package io.moefleet.model.weights;

import static io.moefleet.model.weights.FloatCodec.FLOAT_LE;
import static io.moefleet.model.weights.FloatCodec.SHORT_LE;

import io.moefleet.model.safetensors.DType;
import java.lang.foreign.MemorySegment;

/** An unquantised weight matrix: BF16, F16 or F32, row-major. */
public final class DenseLinear implements Linear {

    private final MemorySegment data;
    private final DType dtype;
    private final int rows;
    private final int cols;

    public DenseLinear(MemorySegment data, DType dtype, int rows, int cols) {
        if (!FloatCodec.isFloat(dtype)) {
            throw new IllegalArgumentException("DenseLinear reads BF16, F16 or F32, not " + dtype);
        }
        if (data.byteSize() != (long) rows * cols * dtype.bytes()) {
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes is not " + dtype + " [" + rows + ", " + cols + "]");
        }
        this.data = data;
        this.dtype = dtype;
        this.rows = rows;
        this.cols = cols;
    }

    public DType dtype() {
        return dtype;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public long storageBytes() {
        return data.byteSize();
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = (long) row * cols;
        float sum = 0;
        switch (dtype) {
            case BF16 -> {
                for (int c = 0; c < cols; c++) {
                    sum += FloatCodec.bf16ToFloat(data.get(SHORT_LE, (base + c) * 2)) * x[xOffset + c];
                }
            }
            case F16 -> {
                for (int c = 0; c < cols; c++) {
                    sum += Float.float16ToFloat(data.get(SHORT_LE, (base + c) * 2)) * x[xOffset + c];
                }
            }
            default -> {
                for (int c = 0; c < cols; c++) {
                    sum += data.get(FLOAT_LE, (base + c) * 4) * x[xOffset + c];
                }
            }
        }
        return sum;
    }

    @Override
    public void row(int row, float[] dst, int dstOffset) {
        long base = (long) row * cols;
        for (int c = 0; c < cols; c++) {
            dst[dstOffset + c] = FloatCodec.get(data, dtype, base + c);
        }
    }
}
