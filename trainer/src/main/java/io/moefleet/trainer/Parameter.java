package io.moefleet.trainer;

import io.moefleet.model.safetensors.DType;
import io.moefleet.model.weights.DenseLinear;
import io.moefleet.model.weights.Linear;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A trainable tensor under its checkpoint name: float32 values, row-major [rows][cols], and the gradient summed over
 * the batches since {@link #zeroGrad}. {@link #linear} is a live F32 view of the values, so forward products run on
 * model-core's own kernels and see every optimiser update. Vectors (norm weights, the router bias) have one row.
 */
public final class Parameter {

    /** How a parameter is trained: Muon for hidden matrices, AdamW for the rest (as Moonlight splits them). */
    public enum Kind {
        MATRIX, EMBEDDING, HEAD, NORM,
        /** the router's correction bias: no gradient, moved by the load balancer */
        BIAS
    }

    private final String name;
    private final Kind kind;
    private final int rows;
    private final int cols;
    private final float[] value;
    private final float[] grad;
    private final Linear linear;

    public Parameter(String name, Kind kind, int rows, int cols) {
        this.name = name;
        this.kind = kind;
        this.rows = rows;
        this.cols = cols;
        this.value = new float[Math.multiplyExact(rows, cols)];
        this.grad = new float[value.length];
        this.linear = new DenseLinear(MemorySegment.ofArray(value), DType.F32, rows, cols);
    }

    public String name() {
        return name;
    }

    public Kind kind() {
        return kind;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** The values, row-major; optimisers update them in place. */
    public float[] value() {
        return value;
    }

    public float[] grad() {
        return grad;
    }

    public Linear linear() {
        return linear;
    }

    public void zeroGrad() {
        Arrays.fill(grad, 0f);
    }

    /** Copies {@code source}'s rows (any stored format, dequantised) into the values. */
    void copyFrom(Linear source) {
        if (source.rows() != rows || source.cols() != cols) {
            throw new IllegalArgumentException(name + ": source is [" + source.rows() + ", " + source.cols() + "], not ["
                    + rows + ", " + cols + "]");
        }
        for (int r = 0; r < rows; r++) {
            source.row(r, value, r * cols);
        }
    }

    void copyFrom(float[] source) {
        if (source.length != value.length) {
            throw new IllegalArgumentException(name + ": source has " + source.length + " values, not " + value.length);
        }
        System.arraycopy(source, 0, value, 0, value.length);
    }

    @Override
    public String toString() {
        return name + " [" + rows + ", " + cols + "]";
    }
}
