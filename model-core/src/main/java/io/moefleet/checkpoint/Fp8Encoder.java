package io.moefleet.checkpoint;

import java.io.IOException;
import java.util.List;

/** A linear weight as block FP8: {@code <name>} F8_E4M3 {@code [out, in]} then {@code <name>_scale_inv} F32 per block. */
final class Fp8Encoder implements TensorEncoder {
    private final TensorSpec spec;
    private final Fp8BlockQuantizer quantizer;
    private final int blockColumns;
    /** All block scales, row of blocks by row of blocks; small next to the weight, so kept until {@link #finish}. */
    private final float[] scales;
    private int bandsWritten;

    Fp8Encoder(TensorSpec spec, Fp8BlockQuantizer quantizer) {
        if (spec.shape().length != 2) {
            throw new IllegalArgumentException(spec.name() + ": FP8 blocks need a 2-D weight");
        }
        this.spec = spec;
        this.quantizer = quantizer;
        this.blockColumns = quantizer.blockColumns(spec.cols());
        this.scales = new float[Math.toIntExact(blockRowCount() * blockColumns)];
    }

    private long blockRowCount() {
        return Math.ceilDiv(spec.rows(), quantizer.blockRows);
    }

    @Override
    public List<StoredTensor> entries() {
        return List.of(
                new StoredTensor(spec.name(), Dtype.F8_E4M3, spec.shape()),
                new StoredTensor(spec.name() + "_scale_inv", Dtype.F32, blockRowCount(), blockColumns));
    }

    @Override
    public int bandRows() {
        return quantizer.blockRows;
    }

    @Override
    public void writeBand(float[] band, int rows, TensorOutput out) throws IOException {
        int cols = (int) spec.cols();
        byte[] codes = new byte[rows * cols];
        float[] bandScales = new float[blockColumns];
        quantizer.quantize(band, rows, cols, codes, bandScales);
        out.putBytes(codes, 0, codes.length);
        System.arraycopy(bandScales, 0, scales, bandsWritten * blockColumns, blockColumns);
        bandsWritten++;
    }

    @Override
    public void finish(TensorOutput out) throws IOException {
        out.putFloats(scales, 0, scales.length);
    }
}
