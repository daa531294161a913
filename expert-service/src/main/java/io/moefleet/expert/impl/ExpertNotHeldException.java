package io.moefleet.expert.impl;

/** A call named an expert the shard does not hold (any more): answered FAILED_PRECONDITION by {@link ForwardBatch#notHeld}. */
public final class ExpertNotHeldException extends RuntimeException {

    private final int layer;
    private final int expert;

    public ExpertNotHeldException(int layer, int expert) {
        super("layer " + layer + " expert " + expert + " is not held");
        this.layer = layer;
        this.expert = expert;
    }

    public int layer() {
        return layer;
    }

    public int expert() {
        return expert;
    }
}
