package io.moefleet.chat.output;

import java.util.List;

/**
 * Cuts a stream of text into plain text and markers, whatever pieces the text arrives in: text is given out only once
 * no marker can start in it, so a marker split across pieces (or across tokens, when it is not written with its own
 * token) is still found whole. The caller says which markers count at each step, since that depends on where its
 * parser stands. Markers never contain one another, so the earliest occurrence decides.
 */
final class MarkerScanner {

    /** Plain text, or one marker. */
    record Piece(String text, boolean isMarker) {}

    private final StringBuilder pending = new StringBuilder();

    void append(String text) {
        pending.append(text);
    }

    /** The next piece with these markers, or null while what is held could still become one of them. */
    Piece next(List<String> markers) {
        int earliest = -1;
        String found = null;
        for (String marker : markers) {
            int at = pending.indexOf(marker);
            if (at >= 0 && (earliest < 0 || at < earliest)) {
                earliest = at;
                found = marker;
            }
        }
        if (earliest == 0) {
            pending.delete(0, found.length());
            return new Piece(found, true);
        }
        int safe = earliest > 0 ? earliest : pending.length() - heldBack(markers);
        if (safe == 0) {
            return null;
        }
        String text = pending.substring(0, safe);
        pending.delete(0, safe);
        return new Piece(text, false);
    }

    /** At the end of the stream: all that is held, as text. */
    String drain() {
        String rest = pending.toString();
        pending.setLength(0);
        return rest;
    }

    /** The length of the longest end of the pending text that begins some marker. */
    private int heldBack(List<String> markers) {
        int longest = 0;
        for (String marker : markers) {
            for (int length = Math.min(marker.length() - 1, pending.length()); length > longest; length--) {
                if (CharSequence.compare(pending.subSequence(pending.length() - length, pending.length()),
                        marker.subSequence(0, length)) == 0) {
                    longest = length;
                    break;
                }
            }
        }
        return longest;
    }
}
