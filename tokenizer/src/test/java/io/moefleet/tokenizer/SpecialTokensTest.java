package io.moefleet.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SpecialTokensTest {

    private static final SpecialTokens SPECIALS = SpecialTokens.of(Map.of("<a>", 1, "<a>b", 2, "b<c>", 3, "<c>", 4));

    private static List<String> texts(List<SpecialTokens.Segment> segments) {
        return segments.stream().map(s -> (s.isSpecial() ? "#" + s.specialId() + ":" : "") + s.text()).toList();
    }

    @Test
    void theLeftmostOccurrenceWinsAndTheLongestAmongThoseStartingThere() {
        // "<a>" and "<a>b" start at 1: the longer wins; "b<c>" would start inside it, so "<c>" is next
        assertEquals(List.of("x", "#2:<a>b", "#4:<c>", "y"), texts(SPECIALS.split("x<a>b<c>y")));
        // "b<c>" starts before "<c>": leftmost wins even though both end at the same place
        assertEquals(List.of("#3:b<c>", "#1:<a>"), texts(SPECIALS.split("b<c><a>")));
    }

    @Test
    void segmentsConcatenateBackAndNoneIsEmpty() {
        for (String text : List.of("", "plain", "<a>", "<a><a>", "<<a>>", "<a", "b<c", "zz<a>bb<c>")) {
            List<SpecialTokens.Segment> segments = SPECIALS.split(text);
            assertEquals(text, String.join("", segments.stream().map(SpecialTokens.Segment::text).toList()));
            assertTrue(segments.stream().noneMatch(s -> s.text().isEmpty()), text);
        }
        assertEquals(List.of("<", "#1:<a>", ">"), texts(SPECIALS.split("<<a>>")));
    }

    @Test
    void aTableWithTwoTokensOnOneIdOrAnEmptyTextIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> SpecialTokens.of(Map.of("<x>", 5, "<y>", 5)));
        assertThrows(IllegalArgumentException.class, () -> SpecialTokens.of(Map.of("", 5)));
    }
}
