package io.moefleet.model.forward;

import java.nio.FloatBuffer;
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

    /**
     * Copies every layer's latents of positions {@code [from, to)} into {@code into}, layer after layer, position after
     * position ({@code [layer][position][width]}, the layout of a KV pool page), so that an attention instance can
     * publish them.
     */
    public void copyLatents(int from, int to, FloatBuffer into) {
        if (from < 0 || from > to || to > length) {
            throw new IllegalArgumentException("positions [" + from + ", " + to + ") are not within the " + length + " cached");
        }
        for (int layer = 0; layer < layers; layer++) {
            float[][] rows = cache().layer(layer);
            for (int p = from; p < to; p++) {
                into.put(rows[p], 0, width);
            }
        }
    }

    /**
     * Appends {@code count} positions whose latents were computed before (a KV pool page restored by an attention
     * instance), read from {@code latents} in {@link #copyLatents}'s layout; the length grows by {@code count}.
     */
    public void appendLatents(int count, FloatBuffer latents) {
        if (count < 0 || latents.remaining() < (long) count * layers * width) {
            throw new IllegalArgumentException(count + " positions of " + layers + " layers x " + width + " floats, but "
                    + latents.remaining() + " floats remain");
        }
        LatentCache cache = cache();
        cache.ensureCapacity(length + count);
        for (int layer = 0; layer < layers; layer++) {
            float[][] rows = cache.layer(layer);
            for (int p = length; p < length + count; p++) {
                latents.get(rows[p], 0, width);
            }
        }
        length += count;
    }

    /**
     * For a sequence whose latents a remote attention backend holds (a router): that backend already holds its first
     * {@code positions} positions (an attention instance restored them from the KV pool), so the next chunk starts
     * there. Refused once this process holds latents of the sequence: they would not cover the positions.
     */
    public void resumeAt(int positions) {
        if (cache != null) {
            throw new IllegalStateException("sequence " + id + " holds its latents in this process: it cannot resume at "
                    + positions + " without them");
        }
        if (positions < 0) {
            throw new IllegalArgumentException("a sequence resumes at a position >= 0, not " + positions);
        }
        length = positions;
    }
}
