package io.moefleet.checkpoint;

import java.io.IOException;
import java.util.List;

/**
 * A linear weight {@code <prefix>.weight} as compressed-tensors pack-quantized INT4:
 * {@code <prefix>.weight_packed} I32 {@code [out, ceil(in/8)]}, {@code <prefix>.weight_scale} BF16
 * {@code [out, ceil(in/group)]} and {@code <prefix>.weight_shape} I32 {@code [2] = [out, in]}.
 */
final class Int4Encoder implements TensorEncoder {
    private final TensorSpec spec;
    private final Int4GroupQuantizer quantizer;
    private final String prefix;
    private final int groups;
    /** bfloat16 scale bits of every row, kept until {@link #finish}: 1/(2 group) of the packed size. */
    private final short[] scales;
    private int rowsWritten;

    Int4Encoder(TensorSpec spec, Int4GroupQuantizer quantizer) {
        if (spec.shape().length != 2 || !spec.name().endsWith(".weight")) {
            throw new IllegalArgumentException(spec.name() + ": INT4 packing needs a 2-D <prefix>.weight");
        }
        this.spec = spec;
        this.quantizer = quantizer;
        this.prefix = spec.name().substring(0, spec.name().length() - ".weight".length());
        this.groups = quantizer.groups(spec.cols());
        this.scales = new short[Math.toIntExact(spec.rows() * groups)];
    }

    @Override
    public List<StoredTensor> entries() {
        return List.of(
                new StoredTensor(prefix + ".weight_packed", Dtype.I32, spec.rows(), Int4GroupQuantizer.words(spec.cols())),
                new StoredTensor(prefix + ".weight_scale", Dtype.BF16, spec.rows(), groups),
                new StoredTensor(prefix + ".weight_shape", Dtype.I32, 2));
    }

    @Override
    public int bandRows() {
        return TensorEncoder.plainBandRows(spec.cols());
    }

    @Override
    public void writeBand(float[] band, int rows, TensorOutput out) throws IOException {
        int cols = (int) spec.cols();
        byte[] q = new byte[cols];
        int[] words = new int[Int4GroupQuantizer.words(cols)];
        for (int r = 0; r < rows; r++) {
            quantizer.quantizeRow(band, r * cols, cols, q, scales, (rowsWritten + r) * groups);
            Int4GroupQuantizer.pack(q, cols, words);
            out.putInts(words, 0, words.length);
        }
        rowsWritten += rows;
    }

    @Override
    public void finish(TensorOutput out) throws IOException {
        out.putShorts(scales, 0, scales.length);
        out.putInt(Math.toIntExact(spec.rows()));
        out.putInt(Math.toIntExact(spec.cols()));
    }
}
