package io.moefleet.model;

/** How a checkpoint's projection weights may be quantised, from {@code quantization_config}. Each tensor's own dtype still decides how it is read. */
public sealed interface Quantization {

    /** No quantization_config: weights are BF16, F16 or F32. */
    record None() implements Quantization {}

    /** DeepSeek/Kimi block FP8: E4M3 weights with an F32 {@code weight_scale_inv} per [blockRows x blockCols] block. */
    record Fp8Block(int blockRows, int blockCols) implements Quantization {}

    /** compressed-tensors {@code pack-quantized}: symmetric integer weights packed into int32, one scale per group of input columns. */
    record PackedInt(int bits, int groupSize) implements Quantization {}
}
