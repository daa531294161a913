package io.moefleet.checkpoint;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How the weights of a written checkpoint are stored; also names the storage of a single tensor. */
public enum WeightFormat {
    /** Every tensor float32. */
    F32,
    /** Every tensor bfloat16, except the router correction bias (float32). */
    BF16,
    /** DeepSeek/Kimi block FP8: decoder-layer projections F8_E4M3 with per-block {@code weight_scale_inv}. */
    FP8,
    /** Kimi-K2-Thinking compressed-tensors: routed experts packed INT4 with per-group scales. */
    INT4;

    /** Parses "f32", "bf16", "fp8" or "int4", ignoring case. */
    public static WeightFormat parse(String s) {
        if (s != null) {
            for (WeightFormat format : values()) {
                if (format.name().equalsIgnoreCase(s.trim())) {
                    return format;
                }
            }
        }
        throw new IllegalArgumentException("unknown weight format '" + s + "'; valid formats: " + validNames());
    }

    private static String validNames() {
        return Arrays.stream(values()).map(f -> f.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", "));
    }
}
