package io.moefleet.grammar;

import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Runs a grammar along one sequence: which tokens may come next, and the tokens that did come. Masks are cached by
 * automaton state (a few hundred, least recently used first out), so returning to a state, e.g. free text after
 * free text, costs nothing. Not thread-safe: one per sequence.
 */
public final class GrammarMatcher {

    private static final int CACHED_MASKS = 256;

    private final GrammarAutomaton automaton;
    private final TokenVocabulary vocabulary;
    private final Map<GrammarState, AllowedTokens> masks = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<GrammarState, AllowedTokens> eldest) {
            return size() > CACHED_MASKS;
        }
    };
    private GrammarState state;

    public GrammarMatcher(Grammar grammar, TokenVocabulary vocabulary) {
        for (int id : grammar.specialTokenIds()) {
            if (id >= vocabulary.size() || !vocabulary.isSpecial(id)) {
                throw new IllegalArgumentException("the grammar places token " + id + " as a special token; the vocabulary has no such special token");
            }
        }
        this.automaton = new GrammarAutomaton(grammar);
        this.vocabulary = vocabulary;
        this.state = automaton.start();
    }

    /** The tokens that may come next: ordinary tokens whose bytes the grammar can read from here, and placed special tokens. */
    public AllowedTokens allowedTokens() {
        AllowedTokens known = masks.get(state);
        if (known == null) {
            BitSet ids = new BitSet(vocabulary.size());
            vocabulary.collectOrdinary(automaton, state, ids);
            for (int id : automaton.grammar().specialTokenIds()) {
                if (automaton.afterSpecial(state, id) != GrammarState.DEAD) {
                    ids.set(id);
                }
            }
            known = new AllowedTokens(ids);
            masks.put(state, known);
        }
        return known;
    }

    /** Moves past a token; false, with nothing changed, when the grammar does not allow it here. */
    public boolean accept(int tokenId) {
        GrammarState next = after(tokenId);
        if (next == GrammarState.DEAD) {
            return false;
        }
        state = next;
        return true;
    }

    /** Whether the grammar allows the token here: one token's answer of {@link #allowedTokens()}, without a mask. */
    public boolean allows(int tokenId) {
        return after(tokenId) != GrammarState.DEAD;
    }

    private GrammarState after(int tokenId) {
        byte[] bytes = vocabulary.ordinaryBytes(tokenId);
        if (bytes != null) {
            GrammarState next = state;
            for (int i = 0; i < bytes.length && next != GrammarState.DEAD; i++) {
                next = automaton.afterByte(next, bytes[i] & 0xFF);
            }
            return bytes.length == 0 ? GrammarState.DEAD : next;
        }
        if (tokenId >= 0 && tokenId < vocabulary.size() && vocabulary.isSpecial(tokenId)) {
            return automaton.afterSpecial(state, tokenId);
        }
        return GrammarState.DEAD;
    }

    /** Whether the grammar may end here. */
    public boolean isComplete() {
        return state.complete;
    }
}
