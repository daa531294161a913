package io.moefleet.grammar;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a sequence may generate: a rule over token bytes and special tokens, plus texts that ordinary tokens must never
 * spell (the markers only special tokens may write). Immutable; a {@link GrammarMatcher} runs it for one sequence.
 */
public final class Grammar {

    private final Rule root;
    private final ForbiddenText forbiddenText;
    private final int[] specialTokenIds;

    private Grammar(Rule root, List<String> forbiddenTexts) {
        this.root = root;
        this.forbiddenText = new ForbiddenText(forbiddenTexts);
        this.specialTokenIds = specialTokensOf(root);
    }

    /** @param forbiddenTexts texts the bytes of ordinary tokens may not spell anywhere, not even across tokens */
    public static Grammar of(Rule root, List<String> forbiddenTexts) {
        return new Grammar(root, List.copyOf(forbiddenTexts));
    }

    Rule root() {
        return root;
    }

    ForbiddenText forbiddenText() {
        return forbiddenText;
    }

    /** The special tokens the grammar places somewhere: the only special tokens a mask can ever allow. */
    int[] specialTokenIds() {
        return specialTokenIds;
    }

    private static int[] specialTokensOf(Rule root) {
        Set<Integer> ids = new TreeSet<>();
        Set<Rule> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Rule> pending = new ArrayDeque<>(List.of(root));
        while (!pending.isEmpty()) {
            Rule rule = pending.pop();
            if (!seen.add(rule)) {
                continue;
            }
            switch (rule) {
                case SpecialToken special -> ids.add(special.tokenId);
                case Sequence sequence -> pending.addAll(sequence.parts);
                case Choice choice -> pending.addAll(choice.alternatives);
                case Repeat repeat -> pending.add(repeat.rule);
                case ByteRule leaf -> { }
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }
}
