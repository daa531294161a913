package io.moefleet.checkpoint;

import java.io.IOException;
import java.util.List;

/** A weight stored as bfloat16, rounded to nearest even from its float32 draw. */
final class Bf16Encoder implements TensorEncoder {
    private final TensorSpec spec;
    private short[] bits = new short[0];

    Bf16Encoder(TensorSpec spec) {
        this.spec = spec;
    }

    @Override
    public List<StoredTensor> entries() {
        return List.of(new StoredTensor(spec.name(), Dtype.BF16, spec.shape()));
    }

    @Override
    public int bandRows() {
        return TensorEncoder.plainBandRows(spec.cols());
    }

    @Override
    public void writeBand(float[] band, int rows, TensorOutput out) throws IOException {
        int n = rows * (int) spec.cols();
        if (bits.length < n) {
            bits = new short[n];
        }
        for (int i = 0; i < n; i++) {
            bits[i] = Bf16.fromFloat(band[i]);
        }
        out.putShorts(bits, 0, n);
    }
}
