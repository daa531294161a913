package io.moefleet.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The placement rule alone: longest hot prefix first, then fewest sequences, ties in turn; no probe with one instance. */
class LongestPrefixAssignmentTest {

    private static final int[] PROMPT = {1, 2, 3};

    @Test
    void theLongestHotPrefixWinsOverLoad() {
        LongestPrefixAssignment routing = new LongestPrefixAssignment();
        assertEquals(1, routing.instanceFor(sequence(new int[] {0, 5, 9}, new int[] {1, 3, 2})),
                "instance 1 holds 3 pages hot, though 5 sequences to instance 0's none");
        assertEquals(1, routing.prefixRouted());
        assertEquals(0, routing.loadRouted());
    }

    @Test
    void equallyLongPrefixesGoToTheLessLoadedInstance() {
        LongestPrefixAssignment routing = new LongestPrefixAssignment();
        assertEquals(3, routing.instanceFor(sequence(new int[] {4, 4, 0, 1}, new int[] {2, 4, 2, 4})));
    }

    @Test
    void withoutHotPagesTheLeastLoadedTakesItAndEqualLoadsTakeTurns() {
        LongestPrefixAssignment routing = new LongestPrefixAssignment();
        assertEquals(1, routing.instanceFor(sequence(new int[] {2, 0, 1}, new int[3])));
        List<Integer> chosen = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            chosen.add(routing.instanceFor(sequence(new int[] {0, 0, 0}, new int[3])));
        }
        assertEquals(List.of(1, 2, 0, 1, 2, 0), chosen, "equal loads are taken in turn");
        assertEquals(7, routing.loadRouted());
    }

    @Test
    void oneInstanceIsNeverProbed() {
        AtomicInteger probes = new AtomicInteger();
        NewSequence only = new NewSequence(PROMPT, new int[] {5}, () -> {
            probes.incrementAndGet();
            return new int[] {3};
        });
        assertEquals(0, new LongestPrefixAssignment().instanceFor(only));
        assertEquals(0, probes.get());
    }

    private static NewSequence sequence(int[] sequencesHeld, int[] hotPages) {
        AtomicInteger probes = new AtomicInteger();
        return new NewSequence(PROMPT, sequencesHeld, () -> {
            assertEquals(1, probes.incrementAndGet(), "the instances are asked once per new sequence");
            return hotPages;
        });
    }
}
