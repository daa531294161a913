package io.moefleet.grammar;

import java.util.List;

/** One of its alternatives; progress 0 while choosing or reading one, 1 once one has ended. */
final class Choice extends Rule {

    final List<Rule> alternatives;
    private final boolean nullable;

    Choice(List<Rule> alternatives) {
        this.alternatives = List.copyOf(alternatives);
        this.nullable = this.alternatives.stream().anyMatch(Rule::nullable);
    }

    @Override
    boolean nullable() {
        return nullable;
    }
}
