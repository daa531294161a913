package io.moefleet.model.weights;

/**
 * FP8 E4M3 in its "fn" form (what DeepSeek and Kimi checkpoints store): 1 sign, 4 exponent bits with bias 7,
 * 3 mantissa bits, no infinities; 0x7F and 0xFF are NaN; largest finite value 448.
 */
public final class Fp8E4M3 {

    private static final float[] TABLE = new float[256];

    static {
        for (int b = 0; b < 256; b++) {
            TABLE[b] = decode(b);
        }
    }

    private Fp8E4M3() {}

    /** The float value of one stored byte. */
    public static float toFloat(byte b) {
        return TABLE[b & 0xFF];
    }

    private static float decode(int b) {
        int sign = (b & 0x80) != 0 ? -1 : 1;
        int exponent = (b >>> 3) & 0xF;
        int mantissa = b & 0x7;
        if (exponent == 0xF && mantissa == 0x7) {
            return Float.NaN;
        }
        if (exponent == 0) {
            return sign * (mantissa / 8f) * 0x1p-6f;          // subnormal: 0.m * 2^(1-7)
        }
        return sign * (1 + mantissa / 8f) * (float) Math.scalb(1.0, exponent - 7);
    }
}
