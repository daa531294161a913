package io.moefleet.checkpoint;

import java.io.IOException;
import java.util.List;

/**
 * A weight stored as float32, after an optional transform of its values: the identity for F32
 * checkpoints, or "what the quantised form decodes to" for the dequantised twin of another format.
 */
final class F32Encoder implements TensorEncoder {

    /** Rewrites a band of rows in place. */
    @FunctionalInterface
    interface BandTransform {
        BandTransform IDENTITY = (band, rows, cols) -> { };

        void apply(float[] band, int rows, int cols);
    }

    private final TensorSpec spec;
    private final int bandRows;
    private final BandTransform transform;

    F32Encoder(TensorSpec spec, int bandRows, BandTransform transform) {
        this.spec = spec;
        this.bandRows = bandRows;
        this.transform = transform;
    }

    F32Encoder(TensorSpec spec) {
        this(spec, TensorEncoder.plainBandRows(spec.cols()), BandTransform.IDENTITY);
    }

    @Override
    public List<StoredTensor> entries() {
        return List.of(new StoredTensor(spec.name(), Dtype.F32, spec.shape()));
    }

    @Override
    public int bandRows() {
        return bandRows;
    }

    @Override
    public void writeBand(float[] band, int rows, TensorOutput out) throws IOException {
        int cols = (int) spec.cols();
        transform.apply(band, rows, cols);
        out.putFloats(band, 0, rows * cols);
    }
}
