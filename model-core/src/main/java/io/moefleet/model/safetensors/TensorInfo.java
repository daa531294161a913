package io.moefleet.model.safetensors;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** One tensor of a safetensors file: its header entry and a read-only view of its bytes (little-endian). */
public record TensorInfo(String name, DType dtype, long[] shape, MemorySegment data, String file) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    /** "name (F32 [3, 4] in model.safetensors)": how errors refer to a tensor. */
    public String describe() {
        return name + " (" + dtype + " " + shapeString() + " in " + file + ")";
    }
}
