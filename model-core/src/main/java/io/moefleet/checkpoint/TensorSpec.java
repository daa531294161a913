package io.moefleet.checkpoint;

/**
 * One logical weight of the model: HF name, shape ({@code [n]} or {@code [out, in]}), role, and the
 * normal distribution its values are drawn from.
 */
record TensorSpec(String name, long[] shape, TensorRole role, double mean, double std) {

    TensorSpec {
        if (shape.length < 1 || shape.length > 2) {
            throw new IllegalArgumentException(name + ": only 1-D and 2-D weights exist in this model");
        }
    }

    /** A linear layer {@code [out, in]}: N(0, 1) / sqrt(in), which keeps activations at unit scale. */
    static TensorSpec linear(String name, long out, long in, TensorRole role) {
        return new TensorSpec(name, new long[] {out, in}, role, 0, 1 / Math.sqrt(in));
    }

    /** An RMSNorm weight: 1 + 0.1 N(0, 1), near the identity but not exactly it. */
    static TensorSpec norm(String name, long size) {
        return new TensorSpec(name, new long[] {size}, TensorRole.NORM, 1, 0.1);
    }

    long rows() {
        return shape.length == 2 ? shape[0] : 1;
    }

    long cols() {
        return shape[shape.length - 1];
    }
}
