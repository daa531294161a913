package io.moefleet.checkpoint;

/**
 * compressed-tensors symmetric INT4 with per-row groups of {@code groupSize} input columns (the last
 * group may be short): {@code scale = bf16(max|w| / 7)} (1 for an all-zero group),
 * {@code q = clamp(round(w / scale), -8, 7)}, decoding to {@code q * scale}.
 */
final class Int4GroupQuantizer {
    /** Values per packed int32 word. */
    static final int PER_WORD = 8;
    /** Nibble added to a value before packing (2^(bits-1)); a padding nibble of 8 decodes to 0. */
    static final int OFFSET = 8;

    final int groupSize;

    Int4GroupQuantizer(int groupSize) {
        if (groupSize <= 0) {
            throw new IllegalArgumentException("INT4 group size must be positive, got " + groupSize);
        }
        this.groupSize = groupSize;
    }

    int groups(long cols) {
        return Math.toIntExact(Math.ceilDiv(cols, groupSize));
    }

    static int words(long cols) {
        return Math.toIntExact(Math.ceilDiv(cols, PER_WORD));
    }

    /**
     * Quantises the row {@code values[offset .. offset + cols)} into {@code q[0 .. cols)} and its
     * bfloat16 scale bits into {@code scaleBits[scaleOffset .. scaleOffset + groups(cols))}.
     */
    void quantizeRow(float[] values, int offset, int cols, byte[] q, short[] scaleBits, int scaleOffset) {
        for (int group = 0, c0 = 0; c0 < cols; group++, c0 += groupSize) {
            int c1 = Math.min(cols, c0 + groupSize);
            float max = 0f;
            for (int c = c0; c < c1; c++) {
                max = Math.max(max, Math.abs(values[offset + c]));
            }
            short bits = Bf16.fromFloat(max / 7f);
            float scale = Bf16.toFloat(bits);
            if (scale == 0f) { // all zero (or too small for bfloat16): any scale decodes to zero
                bits = Bf16.fromFloat(1f);
                scale = 1f;
            }
            scaleBits[scaleOffset + group] = bits;
            for (int c = c0; c < c1; c++) {
                int rounded = (int) Math.rint(values[offset + c] / scale);
                q[c] = (byte) Math.clamp(rounded, -8, 7);
            }
        }
    }

    /** Packs a row of values in [-8, 7] into int32 words, column 8j+i in bits 4i..4i+3 of word j. */
    static void pack(byte[] q, int cols, int[] words) {
        int wordCount = words(cols);
        for (int j = 0; j < wordCount; j++) {
            int word = 0;
            for (int i = 0; i < PER_WORD; i++) {
                int c = j * PER_WORD + i;
                int nibble = c < cols ? q[c] + OFFSET : OFFSET;
                word |= nibble << (4 * i);
            }
            words[j] = word;
        }
    }

    /** Replaces each row of a band by the values its quantised form decodes to. */
    void dequantizeInPlace(float[] band, int rows, int cols) {
        byte[] q = new byte[cols];
        short[] scales = new short[groups(cols)];
        for (int r = 0; r < rows; r++) {
            quantizeRow(band, r * cols, cols, q, scales, 0);
            for (int c = 0; c < cols; c++) {
                band[r * cols + c] = q[c] * Bf16.toFloat(scales[c / groupSize]);
            }
        }
    }
}
