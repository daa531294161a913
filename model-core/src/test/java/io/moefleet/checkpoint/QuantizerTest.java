package io.moefleet.checkpoint;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class QuantizerTest {

    @Test
    void fp8BlocksHandleRaggedEdgesAndZeroBlocks() {
        Fp8BlockQuantizer quantizer = new Fp8BlockQuantizer(2, 3);
        int rows = 2;
        int cols = 5; // blocks of columns 0..2 and 3..4
        float[] band = {
                1, -2, 0.5f, 0, 0,
                3, 0.25f, -6, 0, 0};
        byte[] codes = new byte[rows * cols];
        float[] scales = new float[quantizer.blockColumns(cols)];
        quantizer.quantize(band, rows, cols, codes, scales);
        assertArrayEquals(new float[] {6f / 448f, 1f}, scales, "max|w|/448, and 1 for an all-zero block");
        assertEquals((byte) 0xFE, codes[7], "the block maximum maps to -448");
        assertEquals(0, codes[3]);
        float[] decoded = band.clone();
        quantizer.dequantizeInPlace(decoded, rows, cols);
        for (int i = 0; i < band.length; i++) {
            assertEquals(Fp8E4M3.decode(codes[i]) * scales[(i % cols) / 3], decoded[i], 0f);
            assertEquals(band[i], decoded[i], Math.abs(band[i]) / 16, "within E4M3 precision");
        }
    }

    @Test
    void int4GroupsQuantizeSymmetricallyWithBf16Scales() {
        Int4GroupQuantizer quantizer = new Int4GroupQuantizer(4);
        float[] row = {7, -3.5f, 1, 0.4f, /* group 2 */ 0, 0, 0, 0, /* partial group */ -0.7f, 0.35f};
        byte[] q = new byte[row.length];
        short[] scales = new short[quantizer.groups(row.length)];
        quantizer.quantizeRow(row, 0, row.length, q, scales, 0);
        assertEquals(3, scales.length);
        assertEquals(1f, Bf16.toFloat(scales[0]));
        assertEquals(1f, Bf16.toFloat(scales[1]), "all-zero group");
        assertEquals(Bf16.round(0.7f / 7), Bf16.toFloat(scales[2]));
        assertArrayEquals(new byte[] {7, -4, 1, 0, 0, 0, 0, 0, -7, 3}, q, "rint ties to even (-3.5 -> -4); 0.35 / bf16(0.1) = 3.497 -> 3");
    }

    @Test
    void int4PacksLeastSignificantNibbleFirstAndPadsWithZeroValue() {
        byte[] q = {-8, -1, 0, 1, 2, 3, 4, 7, /* second word */ -3, 5};
        int[] words = new int[Int4GroupQuantizer.words(q.length)];
        Int4GroupQuantizer.pack(q, q.length, words);
        assertEquals(0xFCBA9870, words[0]);
        assertEquals(0x8888_88D5, words[1], "columns 8, 9 then six padding nibbles of value 0");
    }
}
