package io.moefleet.grammar;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Keeps ordinary-token bytes from spelling any of a few texts, e.g. the chat format's markers, which only their special
 * tokens may write: a parser reading the text must never find a marker where the grammar saw plain text. A small
 * automaton (Aho-Corasick over the texts) whose state is the longest suffix read so far that begins one of them.
 */
final class ForbiddenText {

    static final int REJECT = -1;
    static final int START = 0;

    /** [state][byte]: the next state, or REJECT when the byte completes a forbidden text. */
    private final int[][] transitions;

    ForbiddenText(Collection<String> texts) {
        List<byte[]> forbidden = texts.stream().map(text -> text.getBytes(StandardCharsets.UTF_8)).toList();
        boolean[] alphabet = new boolean[256];
        Map<String, Integer> states = new HashMap<>();
        List<byte[]> prefixes = new ArrayList<>();
        states.put(key(new byte[0]), START);
        prefixes.add(new byte[0]);
        for (byte[] text : forbidden) {
            if (text.length == 0) {
                throw new IllegalArgumentException("a forbidden text must not be empty");
            }
            for (int length = 1; length <= text.length; length++) {
                alphabet[text[length - 1] & 0xFF] = true;
                byte[] prefix = Arrays.copyOf(text, length);
                if (length < text.length && states.putIfAbsent(key(prefix), prefixes.size()) == null) {
                    prefixes.add(prefix);
                }
            }
        }
        transitions = new int[prefixes.size()][256];    // bytes outside every text lead back to START
        for (int state = 0; state < prefixes.size(); state++) {
            byte[] prefix = prefixes.get(state);
            for (int b = 0; b < 256; b++) {
                if (alphabet[b]) {
                    byte[] read = Arrays.copyOf(prefix, prefix.length + 1);
                    read[prefix.length] = (byte) b;
                    transitions[state][b] = endsWithAny(read, forbidden) ? REJECT : longestKnownSuffix(read, states);
                }
            }
        }
    }

    int next(int state, int b) {
        return transitions[state][b];
    }

    private static boolean endsWithAny(byte[] read, List<byte[]> texts) {
        for (byte[] text : texts) {
            if (text.length <= read.length && Arrays.equals(read, read.length - text.length, read.length, text, 0, text.length)) {
                return true;
            }
        }
        return false;
    }

    private static int longestKnownSuffix(byte[] read, Map<String, Integer> states) {
        for (int start = 0; start < read.length; start++) {
            Integer state = states.get(key(Arrays.copyOfRange(read, start, read.length)));
            if (state != null) {
                return state;
            }
        }
        return START;
    }

    private static String key(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }
}
