package io.moefleet.checkpoint;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NumberFormatsTest {

    /** E4M3fn decoded from the bit fields, independently of the code under test. */
    static float e4m3Value(int code) {
        int e = (code >> 3) & 15;
        int m = code & 7;
        double v = e == 0 ? m / 8.0 * Math.pow(2, -6) : (1 + m / 8.0) * Math.pow(2, e - 7);
        return (float) ((code & 0x80) != 0 ? -v : v);
    }

    @Test
    void e4m3EncodesHandPickedValues() {
        float[] values = {1.0f, 448f, -2.0f, 0x1p-9f, 0.0f, 0.5f, 1.125f, -448f, 0x1p-6f, 7 * 0x1p-9f, 240f, 0.875f * 0x1p-6f};
        int[] codes = {0x38, 0x7E, 0xC0, 0x01, 0x00, 0x30, 0x39, 0xFE, 0x08, 0x07, 0x77, 0x07};
        for (int i = 0; i < values.length; i++) {
            assertEquals(codes[i], Fp8E4M3.encode(values[i]) & 0xFF, "encode(" + values[i] + ")");
            assertEquals(values[i], Fp8E4M3.decode((byte) codes[i]), "decode(0x" + Integer.toHexString(codes[i]) + ")");
        }
    }

    @Test
    void e4m3TiesRoundToEvenCodes() {
        assertEquals(0x38, Fp8E4M3.encode(1.0625f) & 0xFF, "between 1 (0x38) and 1.125 (0x39)");
        assertEquals(0x3A, Fp8E4M3.encode(1.1875f) & 0xFF, "between 1.125 (0x39) and 1.25 (0x3A)");
        assertEquals(0x00, Fp8E4M3.encode(0.5f * 0x1p-9f) & 0xFF, "between 0 and the smallest subnormal");
        assertEquals(0x02, Fp8E4M3.encode(1.5f * 0x1p-9f) & 0xFF, "between subnormals 0x01 and 0x02");
        assertEquals(0x08, Fp8E4M3.encode(7.5f * 0x1p-9f) & 0xFF, "between the largest subnormal and the smallest normal");
        assertEquals(0x40, Fp8E4M3.encode(2.0f - 0.0625f) & 0xFF, "between 1.875 (0x3F) and 2 (0x40)");
        assertEquals(0x7E, Fp8E4M3.encode(432f) & 0xFF, "between 416 (0x7D) and 448 (0x7E)");
        assertEquals(0xBA, Fp8E4M3.encode(-1.1875f) & 0xFF, "negative ties");
    }

    @Test
    void e4m3SaturatesAndNeverProducesNaN() {
        assertEquals(0x7E, Fp8E4M3.encode(460f) & 0xFF);
        assertEquals(0x7E, Fp8E4M3.encode(1e9f) & 0xFF);
        assertEquals(0xFE, Fp8E4M3.encode(-1e9f) & 0xFF);
        assertTrue(Float.isNaN(Fp8E4M3.decode((byte) 0x7F)));
        assertTrue(Float.isNaN(Fp8E4M3.decode((byte) 0xFF)));
    }

    @Test
    void e4m3RoundTripsEveryFiniteCode() {
        for (int code = 0; code < 256; code++) {
            if ((code & 0x7F) == 0x7F) {
                continue;
            }
            assertEquals(e4m3Value(code), Fp8E4M3.decode((byte) code), "decode 0x" + Integer.toHexString(code));
            assertEquals(code, Fp8E4M3.encode(e4m3Value(code)) & 0xFF, "encode " + e4m3Value(code));
        }
    }

    @Test
    void e4m3PicksTheNearestCodeLikeABruteForceSearch() {
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 100_000; i++) {
            float x = (float) (random.nextGaussian() * Math.pow(2, random.nextInt(-12, 9)));
            int got = Fp8E4M3.encode(x) & 0xFF;
            assertNotEquals(0x7F, got & 0x7F, "NaN code for " + x);
            double best = Double.MAX_VALUE;
            for (int code = 0; code < 0x7F; code++) { // magnitudes only; the sign follows x
                best = Math.min(best, Math.abs(Math.abs(x) - e4m3Value(code)));
            }
            double gotError = Math.abs(Math.abs(x) - Math.abs(e4m3Value(got)));
            assertEquals(best, gotError, 0.0, "not the nearest code for " + x);
            assertEquals(x < 0, (got & 0x80) != 0, "sign of " + x);
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(0x3F80, Bf16.fromFloat(1.0f) & 0xFFFF);
        assertEquals(0x3F80, Bf16.fromFloat(1 + 0x1p-8f) & 0xFFFF, "tie goes down to the even mantissa");
        assertEquals(0x3F82, Bf16.fromFloat(1 + 3 * 0x1p-8f) & 0xFFFF, "tie goes up to the even mantissa");
        assertEquals(0x3F81, Bf16.fromFloat(1 + 0x1p-8f + 0x1p-20f) & 0xFFFF, "above the tie rounds up");
        assertEquals(0xC000, Bf16.fromFloat(-2.0f) & 0xFFFF);
        assertEquals(-2.0f, Bf16.toFloat((short) 0xC000));
        assertEquals(0.10009765625f, Bf16.round(0.1f), "0.1f = 0x3DCCCCCD rounds up to 0x3DCD");
    }
}
