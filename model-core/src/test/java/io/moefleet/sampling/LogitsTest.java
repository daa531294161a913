package io.moefleet.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LogitsTest {

    @Test
    void argmaxIsTheLargestLogit() {
        assertEquals(2, Logits.argmax(new float[] {-1f, 0.5f, 3f, 2.9f}));
        assertEquals(0, Logits.argmax(new float[] {7f}));
        assertEquals(3, Logits.argmax(new float[] {Float.NEGATIVE_INFINITY, -5f, -4f, -3f}));
    }

    @Test
    void argmaxTakesTheLowestIdOnATie() {
        assertEquals(1, Logits.argmax(new float[] {0f, 4f, 2f, 4f, 4f}));
        assertEquals(0, Logits.argmax(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}));
    }

    @Test
    void argmaxRejectsEmptyLogits() {
        assertThrows(IllegalArgumentException.class, () -> Logits.argmax(new float[0]));
    }
}
