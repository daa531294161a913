package io.moefleet.grammar;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A grammar run as a lazily built deterministic automaton over bytes and special tokens: a state's successor is
 * computed on first use from the grammar's paths, then cached, so a mask computation mostly follows cached
 * transitions. Not thread-safe: one per sequence.
 */
final class GrammarAutomaton {

    /** Beyond this many states every cached transition is dropped, which bounds the memory a long generation takes. */
    private static final int MAX_STATES = 20_000;

    private final Grammar grammar;
    private final Map<GrammarState, GrammarState> states = new HashMap<>();

    GrammarAutomaton(Grammar grammar) {
        this.grammar = grammar;
    }

    Grammar grammar() {
        return grammar;
    }

    GrammarState start() {
        Paths paths = new Paths();
        paths.follow(new Frame(grammar.root(), 0, null));
        return intern(paths.state(ForbiddenText.START));
    }

    GrammarState afterByte(GrammarState state, int b) {
        GrammarState[] known = state.afterByte;
        if (known == null) {
            known = state.afterByte = new GrammarState[256];
        }
        GrammarState next = known[b];
        if (next == null) {
            next = known[b] = computeAfterByte(state, b);
        }
        return next;
    }

    GrammarState afterSpecial(GrammarState state, int tokenId) {
        return state.afterSpecial.computeIfAbsent(tokenId, id -> computeAfterSpecial(state, id));
    }

    private GrammarState computeAfterByte(GrammarState state, int b) {
        int forbidden = grammar.forbiddenText().next(state.forbiddenText, b);
        if (forbidden == ForbiddenText.REJECT) {
            return GrammarState.DEAD;
        }
        Paths paths = new Paths();
        for (Frame leaf : state.leaves) {
            if (leaf.rule instanceof ByteRule rule) {
                long progress = rule.next(leaf.progress, b);
                if (progress != ByteRule.REJECT) {
                    paths.follow(leaf.at(progress));
                }
            }
        }
        return paths.isEmpty() ? GrammarState.DEAD : intern(paths.state(forbidden));
    }

    private GrammarState computeAfterSpecial(GrammarState state, int tokenId) {
        Paths paths = new Paths();
        for (Frame leaf : state.leaves) {
            if (leaf.rule instanceof SpecialToken special && special.tokenId == tokenId) {
                paths.follow(leaf.at(1));
            }
        }
        // a special token is never part of a forbidden text, which starts afresh after it
        return paths.isEmpty() ? GrammarState.DEAD : intern(paths.state(ForbiddenText.START));
    }

    private GrammarState intern(GrammarState state) {
        if (states.size() >= MAX_STATES) {
            states.values().forEach(GrammarState::forgetTransitions);
            states.clear();
        }
        GrammarState known = states.putIfAbsent(state, state);
        return known == null ? state : known;
    }

    /** The leaves reachable from frames without reading anything, and whether the grammar can end. */
    private static final class Paths {

        private final Set<Frame> leaves = new LinkedHashSet<>();
        private boolean complete;

        void follow(Frame frame) {
            if (frame == null) {
                complete = true;
                return;
            }
            switch (frame.rule) {
                case ByteRule rule -> {
                    if (rule.canContinue(frame.progress)) {
                        leaves.add(frame);
                    }
                    if (rule.canEnd(frame.progress)) {
                        follow(ended(frame));
                    }
                }
                case SpecialToken special -> {
                    if (frame.progress == 0) {
                        leaves.add(frame);
                    } else {
                        follow(ended(frame));
                    }
                }
                case Sequence sequence -> {
                    if (frame.progress < sequence.parts.size()) {
                        follow(new Frame(sequence.parts.get((int) frame.progress), 0, frame));
                    } else {
                        follow(ended(frame));
                    }
                }
                case Choice choice -> {
                    if (frame.progress == 0) {
                        choice.alternatives.forEach(alternative -> follow(new Frame(alternative, 0, frame)));
                    } else {
                        follow(ended(frame));
                    }
                }
                case Repeat repeat -> {
                    if (frame.progress < repeat.max) {
                        follow(new Frame(repeat.rule, 0, frame));
                    }
                    if (frame.progress >= repeat.min) {
                        follow(ended(frame));
                    }
                }
            }
        }

        /** The frame's rule has ended: its parent moves past it (null: the whole grammar has ended). */
        private static Frame ended(Frame frame) {
            Frame parent = frame.parent;
            if (parent == null) {
                return null;
            }
            return parent.at(parent.rule instanceof Repeat repeat ? repeat.countAfter(parent.progress) : parent.progress + 1);
        }

        boolean isEmpty() {
            return leaves.isEmpty() && !complete;
        }

        GrammarState state(int forbiddenText) {
            return new GrammarState(leaves, complete, forbiddenText);
        }
    }
}
