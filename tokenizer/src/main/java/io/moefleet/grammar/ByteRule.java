package io.moefleet.grammar;

/**
 * A leaf that reads bytes, one at a time, with its progress as a number: what a grammar state records for it. A leaf
 * never moves to a progress from which it can neither go on nor end, so every progress it returns is alive.
 */
abstract sealed class ByteRule extends Rule permits Literal, ByteClass, AnyText, JsonStringRule, IntegerRange {

    static final long REJECT = -1;

    /** The progress after byte {@code b} (0..255), or {@link #REJECT}. */
    abstract long next(long progress, int b);

    /** Whether the leaf may end at this progress. */
    abstract boolean canEnd(long progress);

    /** Whether some byte can follow at this progress. */
    abstract boolean canContinue(long progress);

    @Override
    boolean nullable() {
        return canEnd(0);
    }
}
