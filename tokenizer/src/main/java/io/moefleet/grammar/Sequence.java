package io.moefleet.grammar;

import java.util.List;

/** Its parts one after another; the progress is the index of the part being read. */
final class Sequence extends Rule {

    final List<Rule> parts;
    private final boolean nullable;

    Sequence(List<Rule> parts) {
        this.parts = List.copyOf(parts);
        this.nullable = this.parts.stream().allMatch(Rule::nullable);
    }

    @Override
    boolean nullable() {
        return nullable;
    }
}
