package io.moefleet.checkpoint;

/**
 * Which storage each weight gets in a checkpoint of a given format, and the encoder that writes it:
 * either the stored form itself, or (for the dequantised twin) float32 holding exactly what the stored
 * form decodes to.
 */
final class StoragePolicy {
    private final WeightFormat format;
    private final QuantizationSettings quantization;
    private final boolean dequantised;

    private StoragePolicy(WeightFormat format, QuantizationSettings quantization, boolean dequantised) {
        this.format = format;
        this.quantization = quantization;
        this.dequantised = dequantised;
    }

    static StoragePolicy stored(WeightFormat format, QuantizationSettings quantization) {
        return new StoragePolicy(format, quantization, false);
    }

    static StoragePolicy dequantisedTwin(WeightFormat format, QuantizationSettings quantization) {
        return new StoragePolicy(format, quantization, true);
    }

    /** The storage of one weight in a {@code format} checkpoint (released Kimi/DeepSeek conventions). */
    static WeightFormat storageOf(WeightFormat format, TensorRole role) {
        if (role == TensorRole.ROUTER_BIAS || format == WeightFormat.F32) {
            return WeightFormat.F32;
        }
        return switch (format) {
            case FP8 -> role == TensorRole.PROJECTION || role == TensorRole.EXPERT_PROJECTION
                    ? WeightFormat.FP8 : WeightFormat.BF16;
            case INT4 -> role == TensorRole.EXPERT_PROJECTION ? WeightFormat.INT4 : WeightFormat.BF16;
            default -> WeightFormat.BF16;
        };
    }

    TensorEncoder encoder(TensorSpec spec) {
        WeightFormat storage = storageOf(format, spec.role());
        return dequantised ? dequantisedEncoder(spec, storage) : storedEncoder(spec, storage);
    }

    private TensorEncoder storedEncoder(TensorSpec spec, WeightFormat storage) {
        return switch (storage) {
            case F32 -> new F32Encoder(spec);
            case BF16 -> new Bf16Encoder(spec);
            case FP8 -> new Fp8Encoder(spec, quantization.fp8());
            case INT4 -> new Int4Encoder(spec, quantization.int4());
        };
    }

    private TensorEncoder dequantisedEncoder(TensorSpec spec, WeightFormat storage) {
        int plainRows = TensorEncoder.plainBandRows(spec.cols());
        return switch (storage) {
            case F32 -> new F32Encoder(spec);
            case BF16 -> new F32Encoder(spec, plainRows, Bf16::roundInPlace);
            case FP8 -> {
                Fp8BlockQuantizer fp8 = quantization.fp8();
                yield new F32Encoder(spec, fp8.blockRows, fp8::dequantizeInPlace);
            }
            case INT4 -> new F32Encoder(spec, plainRows, quantization.int4()::dequantizeInPlace);
        };
    }
}
