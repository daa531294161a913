package io.moefleet.grammar;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A state of a grammar's automaton: every path the input so far leaves open, each stopped at a leaf that reads the next
 * byte or special token, whether the grammar may end here, and the forbidden-text state. Equal states are one object
 * (the automaton interns them), which then caches where each byte and special token leads.
 */
final class GrammarState {

    /** Where a rejected byte or special token leads. */
    static final GrammarState DEAD = new GrammarState(Set.of(), false, ForbiddenText.START);

    final Set<Frame> leaves;
    final boolean complete;
    final int forbiddenText;
    private final int hash;

    /** By byte: the next state, DEAD, or null while not computed; allocated on first use. */
    GrammarState[] afterByte;
    Map<Integer, GrammarState> afterSpecial = new HashMap<>();

    GrammarState(Set<Frame> leaves, boolean complete, int forbiddenText) {
        this.leaves = Set.copyOf(leaves);
        this.complete = complete;
        this.forbiddenText = forbiddenText;
        this.hash = Objects.hash(this.leaves, complete, forbiddenText);
    }

    /** Drops the cached transitions, so that states this one leads to can be collected. */
    void forgetTransitions() {
        afterByte = null;
        afterSpecial = new HashMap<>();
    }

    @Override
    public boolean equals(Object other) {
        return this == other || other instanceof GrammarState state && hash == state.hash && complete == state.complete
                && forbiddenText == state.forbiddenText && leaves.equals(state.leaves);
    }

    @Override
    public int hashCode() {
        return hash;
    }
}
