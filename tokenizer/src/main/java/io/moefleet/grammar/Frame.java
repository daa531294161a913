package io.moefleet.grammar;

/**
 * Where one path through the grammar stands: a rule, the progress inside it, and the frame of its parent rule, whose
 * progress moves on when this rule ends. Frames are immutable and shared, so a path costs one object per step down.
 */
final class Frame {

    final Rule rule;
    final long progress;
    final Frame parent;
    private final int hash;

    Frame(Rule rule, long progress, Frame parent) {
        this.rule = rule;
        this.progress = progress;
        this.parent = parent;
        this.hash = 31 * (31 * System.identityHashCode(rule) + Long.hashCode(progress)) + (parent == null ? 0 : parent.hash);
    }

    Frame at(long newProgress) {
        return new Frame(rule, newProgress, parent);
    }

    @Override
    public boolean equals(Object other) {
        if (this == other) {
            return true;
        }
        if (!(other instanceof Frame frame) || hash != frame.hash || rule != frame.rule || progress != frame.progress) {
            return false;
        }
        return parent == null ? frame.parent == null : parent.equals(frame.parent);
    }

    @Override
    public int hashCode() {
        return hash;
    }
}
