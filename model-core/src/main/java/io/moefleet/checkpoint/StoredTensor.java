package io.moefleet.checkpoint;

/** One entry of a safetensors file: its name, element type and shape. */
record StoredTensor(String name, Dtype dtype, long... shape) {

    long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    long byteSize() {
        return elementCount() * dtype.bytes;
    }
}
