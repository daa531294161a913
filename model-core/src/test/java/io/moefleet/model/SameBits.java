package io.moefleet.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Logits compared bit for bit: the fleet against the engine, a restored cache against a recomputed one. */
public final class SameBits {

    private SameBits() {}

    /** Fails at the first value whose bits differ, naming its row and column and both values. */
    public static void assertRows(float[][] expected, float[][] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": rows");
        for (int r = 0; r < expected.length; r++) {
            assertEquals(expected[r].length, actual[r].length, what + ": row " + r + " length");
            for (int v = 0; v < expected[r].length; v++) {
                if (Float.floatToRawIntBits(expected[r][v]) != Float.floatToRawIntBits(actual[r][v])) {
                    fail(what + ": row " + r + ", column " + v + ": expected " + expected[r][v] + " but was " + actual[r][v]
                            + " (difference " + (actual[r][v] - expected[r][v]) + ")");
                }
            }
        }
    }
}
