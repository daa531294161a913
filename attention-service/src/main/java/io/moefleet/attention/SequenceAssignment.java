package io.moefleet.attention;

/**
 * Which attention instance a new sequence goes to; it stays there until released, since its latent cache lives there.
 * {@link RoundRobinAssignment} takes turns; {@link LongestPrefixAssignment} goes where the prompt's prefix is hot.
 */
@FunctionalInterface
public interface SequenceAssignment {

    /** The instance, in {@code [0, sequence.instances())}, for {@code sequence}. */
    int instanceFor(NewSequence sequence);
}
