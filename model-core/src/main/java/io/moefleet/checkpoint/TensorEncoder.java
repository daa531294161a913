package io.moefleet.checkpoint;

import java.io.IOException;
import java.util.List;

/**
 * Turns the float32 values of one logical weight into the bytes of the safetensors entries that
 * store it. Values arrive in bands of whole rows, top to bottom; the entries are written in the order
 * {@link #entries()} lists them, the first one streamed band by band, the others (scales) at {@link #finish}.
 */
interface TensorEncoder {

    /** The entries this weight becomes, in the order their bytes are written. */
    List<StoredTensor> entries();

    /** Rows per band; only the last band may be shorter. */
    int bandRows();

    /** Encodes {@code rows} full rows held in {@code band[0 .. rows * cols)}; may overwrite {@code band}. */
    void writeBand(float[] band, int rows, TensorOutput out) throws IOException;

    /** Writes whatever follows the streamed entry (scales, shape); called once after the last band. */
    default void finish(TensorOutput out) throws IOException {
    }

    /** Rows per band for encoders without a block structure: bands of about a million values. */
    static int plainBandRows(long cols) {
        return (int) Math.max(1, (1 << 20) / cols);
    }
}
