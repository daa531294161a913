package io.moefleet.model.forward;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A sequence's state between steps: its id (how a remote attention backend names it), how many positions are
 * computed, and, when attention runs in this process, their latent cache.
 */
public final class Sequence {

    private static final AtomicLong IDS = new AtomicLong();

    private final long id = IDS.incrementAndGet();
    private final LatentCache cache;
    private int length;

    Sequence(LatentCache cache) {
        this.cache = cache;
    }

    /** Unique in this process. */
    public long id() {
        return id;
    }

    /** Positions whose latents are cached; the next chunk starts here (or earlier, to recompute a suffix). */
    public int length() {
        return length;
    }

    LatentCache cache() {
        return cache;
    }

    void setLength(int length) {
        this.length = length;
    }
}
