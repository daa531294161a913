package io.moefleet.checkpoint;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * The random values of one tensor, in row-major order, from a stream of its own seeded by
 * (checkpoint seed, tensor name): a tensor's values do not depend on which other tensors exist,
 * on the order they are written in, or on the storage format.
 */
final class WeightSampler {
    private final SplittableRandom random;
    private final double mean;
    private final double std;

    WeightSampler(long seed, TensorSpec spec) {
        this.random = new SplittableRandom(streamSeed(seed, spec.name()));
        this.mean = spec.mean();
        this.std = spec.std();
    }

    /** Fills {@code values[0 .. count)} with the next draws of this tensor. */
    void next(float[] values, int count) {
        for (int i = 0; i < count; i++) {
            values[i] = (float) (mean + std * random.nextGaussian());
        }
    }

    /** 64-bit FNV-1a of the UTF-8 name, mixed with the seed through SplitMix64's finaliser. */
    static long streamSeed(long seed, String name) {
        long hash = 0xCBF29CE484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            hash ^= b & 0xFF;
            hash *= 0x100000001B3L;
        }
        return mix64(mix64(seed + 0x9E3779B97F4A7C15L) ^ hash);
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
