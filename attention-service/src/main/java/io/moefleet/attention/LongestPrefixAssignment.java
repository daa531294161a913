package io.moefleet.attention;

import java.util.concurrent.atomic.LongAdder;

/**
 * KV-aware routing: a new sequence goes to the instance holding the longest run of its prompt's leading pages hot in
 * its own memory, so that Admit restores them there without a pool fetch; among instances with equally long runs, and
 * when no instance holds any page, to the one holding the fewest sequences, ties taken in turn. The pool makes every
 * instance able to restore a prefix; this only saves the fetch. With one instance nothing is asked.
 */
public final class LongestPrefixAssignment implements SequenceAssignment {

    private final LongAdder prefixRouted = new LongAdder();
    private final LongAdder loadRouted = new LongAdder();
    private long turn;

    @Override
    public int instanceFor(NewSequence sequence) {
        int instances = sequence.instances();
        int longest = 0;
        if (instances > 1) {
            for (int i = 0; i < instances; i++) {
                longest = Math.max(longest, sequence.hotPages(i));
            }
        }
        int chosen = -1;
        for (int k = 0; k < instances; k++) {
            int i = (int) ((turn + k) % instances);
            if (longest > 0 && sequence.hotPages(i) != longest) {
                continue;
            }
            if (chosen < 0 || sequence.sequencesOn(i) < sequence.sequencesOn(chosen)) {
                chosen = i;
            }
        }
        turn++;
        (longest > 0 ? prefixRouted : loadRouted).increment();
        return chosen;
    }

    /** Sequences placed where their prefix was hot. */
    public long prefixRouted() {
        return prefixRouted.sum();
    }

    /** Sequences placed by load alone (no instance held a page of the prompt, or one instance only). */
    public long loadRouted() {
        return loadRouted.sum();
    }
}
