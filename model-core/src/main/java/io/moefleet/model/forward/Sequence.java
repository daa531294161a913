package io.moefleet.model.forward;

/** A sequence's state between steps: how many positions are computed and their latent cache. */
public final class Sequence {

    private final LatentCache cache;
    private int length;

    Sequence(LatentCache cache) {
        this.cache = cache;
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
