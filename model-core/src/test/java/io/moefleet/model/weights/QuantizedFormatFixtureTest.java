package io.moefleet.model.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moefleet.model.Quantization;
import io.moefleet.model.safetensors.SafetensorsFile;
import io.moefleet.model.safetensors.TensorInfo;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the quantised formats to the facts file with bytes built by hand (not by our writer, which could share a bug
 * with the reader): each fixture's expected floats are written out here.
 */
class QuantizedFormatFixtureTest {

    @TempDir
    Path dir;

    /** E4M3 bytes and their values, worked out by hand from the format: sign | 4 exponent bits (bias 7) | 3 mantissa bits. */
    private static final int[] FP8_BYTES = {0x00, 0x38, 0x40, 0x3C, 0xB8, 0x01, 0x07, 0x08, 0x7E, 0xFE, 0x30, 0x57};
    private static final float[] FP8_VALUES = {0f, 1f, 2f, 1.5f, -1f, 0.001953125f, 0.013671875f, 0.015625f, 448f, -448f, 0.5f, 15f};

    @Test
    void fp8BlocksWithPartialEdgesDecodeToTheirExpectedFloats() {
        int rows = 130, cols = 260;                                // blocks of 128x128: a 2x3 grid, the last row and column partial
        float[] scales = {0.5f, 2f, 0.25f, 4f, 1f, 0.125f};          // [2, 3], row-major
        byte[] weights = new byte[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                weights[i * cols + j] = (byte) FP8_BYTES[pattern(i, j)];
            }
        }
        ByteBuffer data = ByteBuffer.allocate(weights.length + 4 * scales.length).order(ByteOrder.LITTLE_ENDIAN);
        data.put(weights);
        for (float s : scales) {
            data.putFloat(s);
        }
        String header = "{\"w.weight\":{\"dtype\":\"F8_E4M3\",\"shape\":[130,260],\"data_offsets\":[0," + weights.length + "]},"
                + "\"w.weight_scale_inv\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[" + weights.length + ","
                + (weights.length + 24) + "]}}";
        try (Arena arena = Arena.ofConfined()) {
            Linear w = bind(arena, header, data.array(), new Quantization.Fp8Block(128, 128)).linear("w", rows, cols, "fixture");
            float[] row = new float[cols];
            float[] x = new float[cols];
            for (int j = 0; j < cols; j++) {
                x[j] = (j % 5) - 2;
            }
            for (int i = 0; i < rows; i++) {
                w.row(i, row, 0);
                double expectedDot = 0;
                for (int j = 0; j < cols; j++) {
                    float expected = FP8_VALUES[pattern(i, j)] * scales[(i / 128) * 3 + j / 128];
                    assertEquals(expected, row[j], 0f, "element [" + i + ", " + j + "]");
                    expectedDot += (double) expected * x[j];
                }
                assertEquals(expectedDot, w.referenceDot(i, x, 0), 1e-3 + 1e-6 * Math.abs(expectedDot), "row " + i);
                assertEquals(expectedDot, kernel(w, i, x), 1e-3 + 1e-6 * Math.abs(expectedDot), "kernel row " + i);
            }
        }
    }

    private static int pattern(int i, int j) {
        return (i * 7 + j * 3) % FP8_BYTES.length;
    }

    @Test
    void int4PackedWeightsHoldEveryNibbleAtKnownPositions() {
        int rows = 3, cols = 21, group = 8;                        // 21 columns: 3 int32 words per row, groups of 8, 8 and 5
        // word j holds columns 8j..8j+7, column 8j+i in bits 4i..4i+3; stored nibble = value + 8
        int[] packed = {
            0x76543210, 0xFEDCBA98, 0x88888F08,                    // values -8..-1 | 0..7 | 0, -8, 7, 0, 0
            0x89ABCDEF, 0x01234567, 0x88888888,                    // 7..0 | -1..-8 | zeros
            0x88888888, 0x0F0F0F0F, 0x88888123,                    // zeros | 7, -8 alternating | -5, -6, -7, 0, 0
        };
        int[][] values = {
            {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 0, -8, 7, 0, 0},
            {7, 6, 5, 4, 3, 2, 1, 0, -1, -2, -3, -4, -5, -6, -7, -8, 0, 0, 0, 0, 0},
            {0, 0, 0, 0, 0, 0, 0, 0, 7, -8, 7, -8, 7, -8, 7, -8, -5, -6, -7, 0, 0},
        };
        short[] scaleBits = {0x3F00, 0x4000, 0x3E80, 0x3F80, 0x4080, 0x3E00, 0x4040, 0x3F00, 0x4000}; // bf16 [3, 3]
        float[] scales = {0.5f, 2f, 0.25f, 1f, 4f, 0.125f, 3f, 0.5f, 2f};
        ByteBuffer data = ByteBuffer.allocate(4 * packed.length + 2 * scaleBits.length + 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int word : packed) {
            data.putInt(word);
        }
        for (short s : scaleBits) {
            data.putShort(s);
        }
        data.putInt(rows).putInt(cols);
        int scaleStart = 4 * packed.length;
        int shapeStart = scaleStart + 2 * scaleBits.length;
        String header = "{\"w.weight_packed\":{\"dtype\":\"I32\",\"shape\":[3,3],\"data_offsets\":[0," + scaleStart + "]},"
                + "\"w.weight_scale\":{\"dtype\":\"BF16\",\"shape\":[3,3],\"data_offsets\":[" + scaleStart + "," + shapeStart + "]},"
                + "\"w.weight_shape\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[" + shapeStart + "," + (shapeStart + 8) + "]}}";
        try (Arena arena = Arena.ofConfined()) {
            Linear w = bind(arena, header, data.array(), new Quantization.PackedInt(4, group)).linear("w", rows, cols, "fixture");
            float[] row = new float[cols];
            float[] x = new float[cols];
            for (int j = 0; j < cols; j++) {
                x[j] = 1f / (j + 1);
            }
            for (int i = 0; i < rows; i++) {
                w.row(i, row, 0);
                double expectedDot = 0;
                for (int j = 0; j < cols; j++) {
                    float expected = values[i][j] * scales[i * 3 + j / group];
                    assertEquals(expected, row[j], 0f, "element [" + i + ", " + j + "]");
                    expectedDot += (double) expected * x[j];
                }
                assertEquals(expectedDot, w.referenceDot(i, x, 0), 1e-5, "row " + i);
                assertEquals(expectedDot, kernel(w, i, x), 1e-5, "kernel row " + i);
            }
        }
    }

    private static float kernel(Linear w, int row, float[] x) {
        float[] out = new float[w.rows()];
        w.multiply(new float[][] {x}, 0, 1, new float[][] {out}, 0, row, row + 1);
        return out[row];
    }

    private TensorBinder bind(Arena arena, String header, byte[] data, Quantization quantization) {
        Path file = dir.resolve("fixture.safetensors");
        SafetensorsSurgery.writeRaw(file, header.getBytes(StandardCharsets.UTF_8), data);
        Map<String, TensorInfo> tensors = SafetensorsFile.open(file, arena).tensors();
        return new TensorBinder(tensors::get, tensors::containsKey, TensorInfo::data, quantization, ModelWeights.LoadProgress.NONE, 0);
    }
}
