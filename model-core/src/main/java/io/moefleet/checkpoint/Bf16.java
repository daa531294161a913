package io.moefleet.checkpoint;

/** bfloat16 conversions: the upper 16 bits of a float32, rounded to nearest even. */
final class Bf16 {
    private Bf16() {
    }

    static short fromFloat(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) 0x7FC0;
        }
        // adding 0x7FFF plus the lowest kept bit rounds to nearest, ties to even
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** The float32 value a float rounds to once stored as bfloat16. */
    static float round(float value) {
        return toFloat(fromFloat(value));
    }

    /** Replaces the first {@code rows * cols} values by their bfloat16 roundings. */
    static void roundInPlace(float[] values, int rows, int cols) {
        int n = rows * cols;
        for (int i = 0; i < n; i++) {
            values[i] = round(values[i]);
        }
    }
}
