package io.moefleet.checkpoint;

/** A safetensors element type; the constant names are the dtype strings safetensors writes. */
enum Dtype {
    F32(4),
    BF16(2),
    F8_E4M3(1),
    I32(4);

    final int bytes;

    Dtype(int bytes) {
        this.bytes = bytes;
    }
}
