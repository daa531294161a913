package io.moefleet.checkpoint;

/**
 * The FP8 E4M3 "fn" number format (PyTorch {@code float8_e4m3fn}): sign, 4 exponent bits with bias 7,
 * 3 mantissa bits, subnormals, no infinities; 0x7F and 0xFF are NaN, so the largest finite value is 448.
 */
final class Fp8E4M3 {
    static final float MAX = 448f;
    private static final byte MAX_CODE = 0x7E;
    private static final float SMALLEST_NORMAL = 0x1p-6f;

    private Fp8E4M3() {
    }

    /** The code of the E4M3 value nearest to {@code value} (ties to even code), saturating at ±448. */
    static byte encode(float value) {
        if (Float.isNaN(value)) {
            throw new IllegalArgumentException("NaN has no place in a generated weight");
        }
        int sign = (Float.floatToRawIntBits(value) >>> 24) & 0x80;
        float magnitude = Math.abs(value);
        if (magnitude >= MAX) {
            return (byte) (sign | MAX_CODE);
        }
        int code;
        if (magnitude < SMALLEST_NORMAL) {
            // subnormals are multiples of 2^-9; code 8 (2^-6) is the smallest normal, so the carry is right
            code = (int) Math.rint(magnitude * 0x1p9f);
        } else {
            int exponent = Math.getExponent(magnitude);
            float fraction = Math.scalb(magnitude, -exponent) - 1f; // exact: in [0, 1)
            // a mantissa rounding up to 8 carries into the exponent field, which is the right code
            code = ((exponent + 7) << 3) + (int) Math.rint(fraction * 8f);
        }
        return (byte) (sign | Math.min(code, MAX_CODE));
    }

    static float decode(byte code) {
        int bits = code & 0xFF;
        int exponent = (bits >>> 3) & 0xF;
        int mantissa = bits & 7;
        float magnitude;
        if (exponent == 0) {
            magnitude = mantissa * 0x1p-9f;
        } else if (exponent == 15 && mantissa == 7) {
            magnitude = Float.NaN;
        } else {
            magnitude = Math.scalb(1f + mantissa / 8f, exponent - 7);
        }
        return (bits & 0x80) != 0 ? -magnitude : magnitude;
    }
}
