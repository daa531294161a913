package io.moefleet.grammar;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A node of a grammar over the bytes of ordinary tokens and over special tokens, which are symbols of their own (a
 * special token never matches the bytes of its text). Rules are immutable and compared by identity, so one rule may be
 * shared by several parents: grammars are DAGs, and every repetition is a {@link #repeat} with explicit bounds.
 */
public abstract sealed class Rule permits ByteRule, SpecialToken, Sequence, Choice, Repeat {

    /** The upper bound of a {@link #repeat} without one. */
    public static final int UNBOUNDED = Integer.MAX_VALUE;

    /** Whether the rule matches the empty input. */
    abstract boolean nullable();

    /** Exactly these bytes: the UTF-8 of {@code text}. */
    public static Rule literal(String text) {
        return new Literal(text.getBytes(StandardCharsets.UTF_8));
    }

    /** One byte out of {@code bytes} (ASCII characters). */
    public static Rule oneOf(String bytes) {
        return new ByteClass(bytes);
    }

    /** One special token. */
    public static Rule special(int tokenId) {
        return new SpecialToken(tokenId);
    }

    /** Any bytes, any number of them: free text, bounded only by the token budget. */
    public static Rule anyText() {
        return new AnyText();
    }

    /** A quoted JSON string holding {@code minChars..maxChars} characters (an escape counts as one). */
    public static Rule jsonString(int minChars, int maxChars) {
        return new JsonStringRule(minChars, maxChars);
    }

    /** A JSON integer in {@code [min, max]}, without leading zeros or {@code -0}. */
    public static Rule integer(long min, long max) {
        return new IntegerRange(min, max);
    }

    public static Rule sequence(Rule... parts) {
        return sequence(List.of(parts));
    }

    public static Rule sequence(List<Rule> parts) {
        return parts.size() == 1 ? parts.getFirst() : new Sequence(parts);
    }

    public static Rule choice(Rule... alternatives) {
        return choice(List.of(alternatives));
    }

    public static Rule choice(List<Rule> alternatives) {
        if (alternatives.isEmpty()) {
            throw new IllegalArgumentException("a choice needs at least one alternative");
        }
        return alternatives.size() == 1 ? alternatives.getFirst() : new Choice(alternatives);
    }

    /** Matches the empty input only. */
    public static Rule empty() {
        return new Sequence(List.of());
    }

    public static Rule optional(Rule rule) {
        return new Choice(List.of(rule, empty()));
    }

    /**
     * {@code min..max} repetitions; {@code max} may be {@link #UNBOUNDED}. The repeated rule must not match the
     * empty input (a repetition of nothing would never end).
     */
    public static Rule repeat(Rule rule, int min, int max) {
        return new Repeat(rule, min, max);
    }
}
