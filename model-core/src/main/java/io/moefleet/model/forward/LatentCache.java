package io.moefleet.model.forward;

import java.util.Arrays;

/**
 * One sequence's MLA cache: per layer and position, the normalised KV latent ({@code kv_lora_rank} values) followed by
 * the roped shared key ({@code qk_rope_head_dim}), in float32. Grows by doubling; truncation rolls a sequence back.
 */
public final class LatentCache {

    private final int width;
    private final float[][] layers;
    private int capacity;

    LatentCache(int numLayers, int width, int initialCapacity) {
        this.width = width;
        this.capacity = Math.max(1, initialCapacity);
        this.layers = new float[numLayers][capacity * width];
    }

    int width() {
        return width;
    }

    /** The layer's backing array; position p's entry starts at {@code p * width}. Valid until the next {@link #ensureCapacity}. */
    float[] layer(int layer) {
        return layers[layer];
    }

    void ensureCapacity(int positions) {
        if (positions <= capacity) {
            return;
        }
        int grown = Math.max(positions, capacity * 2);
        for (int l = 0; l < layers.length; l++) {
            layers[l] = Arrays.copyOf(layers[l], grown * width);
        }
        capacity = grown;
    }

    /** Bytes held for the cached positions (what a page of this sequence would move). */
    public long bytesPerPosition() {
        return 4L * width * layers.length;
    }
}
