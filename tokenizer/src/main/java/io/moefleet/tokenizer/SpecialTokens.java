package io.moefleet.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A vocabulary's special tokens (Kimi's {@code added_tokens_decoder}, a {@code tokenizer.json}'s {@code added_tokens},
 * tiktoken's {@code special_tokens}): their texts and ids, and where they occur in a text.
 */
public final class SpecialTokens {

    /** A piece of text between special tokens, or one special token; {@code specialId} is -1 for ordinary text. */
    public record Segment(String text, int specialId) {
        public boolean isSpecial() {
            return specialId >= 0;
        }
    }

    private final Map<String, Integer> idsByText;
    private final Map<Integer, String> textsById = new HashMap<>();
    /** The texts starting with each character, longest first: the first that matches at a position is the longest. */
    private final Map<Character, List<String>> byFirstChar = new HashMap<>();

    private SpecialTokens(Map<String, Integer> idsByText) {
        this.idsByText = Map.copyOf(idsByText);
        for (Map.Entry<String, Integer> e : this.idsByText.entrySet()) {
            if (e.getKey().isEmpty() || e.getValue() < 0) {
                throw new IllegalArgumentException("special token '" + e.getKey() + "' with id " + e.getValue()
                        + ": a special token needs a non-empty text and an id >= 0");
            }
            String previous = textsById.put(e.getValue(), e.getKey());
            if (previous != null) {
                throw new IllegalArgumentException("special tokens '" + previous + "' and '" + e.getKey()
                        + "' share the id " + e.getValue());
            }
            byFirstChar.computeIfAbsent(e.getKey().charAt(0), c -> new ArrayList<>()).add(e.getKey());
        }
        byFirstChar.values().forEach(texts -> texts.sort(Comparator.comparingInt(String::length).reversed()));
    }

    public static SpecialTokens of(Map<String, Integer> idsByText) {
        return new SpecialTokens(idsByText);
    }

    public OptionalInt id(String text) {
        Integer id = idsByText.get(text);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    public boolean isSpecial(int id) {
        return textsById.containsKey(id);
    }

    public Map<String, Integer> idsByText() {
        return idsByText;
    }

    int maxId() {
        return textsById.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
    }

    /**
     * The text cut at every special token's occurrence: at each position the leftmost occurrence wins, the longest
     * one when several start there. The segments concatenate back to the text; there are no empty ones.
     */
    public List<Segment> split(String text) {
        List<Segment> segments = new ArrayList<>();
        int plainStart = 0;
        int i = 0;
        while (i < text.length()) {
            String match = longestAt(text, i);
            if (match == null) {
                i++;
                continue;
            }
            if (i > plainStart) {
                segments.add(new Segment(text.substring(plainStart, i), -1));
            }
            segments.add(new Segment(match, idsByText.get(match)));
            i += match.length();
            plainStart = i;
        }
        if (plainStart < text.length()) {
            segments.add(new Segment(text.substring(plainStart), -1));
        }
        return segments;
    }

    private String longestAt(String text, int position) {
        List<String> candidates = byFirstChar.get(text.charAt(position));
        if (candidates != null) {
            for (String candidate : candidates) {
                if (text.startsWith(candidate, position)) {
                    return candidate;
                }
            }
        }
        return null;
    }
}
