package io.moefleet.model.forward;

import java.util.Arrays;

/**
 * One sequence's MLA cache: per layer and position, the normalised KV latent ({@code kv_lora_rank} values) followed by
 * the roped shared key ({@code qk_rope_head_dim}), in float32, one array per position so that products read the
 * cached latents in place. Grows by doubling; a sequence rolls back by overwriting from an earlier position.
 */
public final class LatentCache {

    private final int width;
    private final float[][][] layers;
    private int capacity;

    LatentCache(int numLayers, int width, int initialCapacity) {
        this.width = width;
        this.layers = new float[numLayers][0][];
        this.capacity = 0;
        ensureCapacity(Math.max(1, initialCapacity));
    }

    /** The layer's rows, one per position: valid until the next {@link #ensureCapacity}. */
    float[][] layer(int layer) {
        return layers[layer];
    }

    void ensureCapacity(int positions) {
        if (positions <= capacity) {
            return;
        }
        int grown = Math.max(positions, capacity * 2);
        for (int l = 0; l < layers.length; l++) {
            float[][] rows = Arrays.copyOf(layers[l], grown);
            for (int p = capacity; p < grown; p++) {
                rows[p] = new float[width];
            }
            layers[l] = rows;
        }
        capacity = grown;
    }
}
