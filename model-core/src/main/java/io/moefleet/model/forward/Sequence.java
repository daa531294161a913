package io.moefleet.model.forward;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A sequence's state between steps: its id (how a remote attention backend names it), how many positions are
 * computed, and, when attention runs in this process, their latent cache.
 */
public final class Sequence {

    private static final AtomicLong IDS = new AtomicLong();

    private final long id = IDS.incrementAndGet();
    private final int layers;
    private final int width;
    private LatentCache cache;
    private int length;

    /** A sequence whose latent cache ({@code layers} x {@code width} floats per position) is made when first used. */
    Sequence(int layers, int width) {
        this.layers = layers;
        this.width = width;
    }

    /** Unique in this process. */
    public long id() {
        return id;
    }

    /** Positions whose latents are cached; the next chunk starts here (or earlier, to recompute a suffix). */
    public int length() {
        return length;
    }

    /** Made on first use: a router whose attention runs elsewhere never holds one. */
    LatentCache cache() {
        if (cache == null) {
            cache = new LatentCache(layers, width, 64);
        }
        return cache;
    }

    void setLength(int length) {
        this.length = length;
    }
}
