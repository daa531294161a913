package io.moefleet.grammar;

/**
 * {@code min..max} repetitions of a rule; the progress is how many were read. Without an upper bound the count stops
 * at {@code min}, beyond which it no longer matters, so an unbounded repetition adds no states.
 */
final class Repeat extends Rule {

    final Rule rule;
    final int min;
    final int max;

    Repeat(Rule rule, int min, int max) {
        if (min < 0 || max < min) {
            throw new IllegalArgumentException("repetition bounds " + min + ".." + max);
        }
        if (rule.nullable()) {
            throw new IllegalArgumentException("a repeated rule must not match the empty input");
        }
        this.rule = rule;
        this.min = min;
        this.max = max;
    }

    /** The count after one more repetition. */
    long countAfter(long count) {
        return max == Rule.UNBOUNDED ? Math.min(count + 1, min) : count + 1;
    }

    @Override
    boolean nullable() {
        return min == 0;
    }
}
