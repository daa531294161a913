package io.moefleet.router.api;

import java.util.List;
import java.util.Optional;

/**
 * Cuts generated text at the first stop string: text is released as soon as no stop string can start in it, the rest
 * held back until it can be decided, and the stop string itself never appears (OpenAI's behaviour).
 */
final class StopStrings {

    private final List<String> stops;
    private final int holdBack;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;
    private String matched;

    StopStrings(List<String> stops) {
        this.stops = List.copyOf(stops);
        this.holdBack = stops.stream().mapToInt(String::length).max().orElse(1) - 1;
    }

    /** Whether a stop string has been met: nothing more is released. */
    boolean stopped() {
        return stopped;
    }

    /** The stop string that was met (the earliest in the text; the first listed on a tie), once {@link #stopped}. */
    Optional<String> matched() {
        return Optional.ofNullable(matched);
    }

    /** Takes more text; returns what may be shown now. */
    String push(String text) {
        if (stopped) {
            return "";
        }
        pending.append(text);
        if (stops.isEmpty()) {
            return take(pending.length());
        }
        int cut = -1;
        for (String stop : stops) {
            int at = pending.indexOf(stop);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
                matched = stop;
            }
        }
        if (cut >= 0) {
            stopped = true;
            String shown = pending.substring(0, cut);
            pending.setLength(0);
            return shown;
        }
        return take(Math.max(0, pending.length() - holdBack));
    }

    /** At the end of generation: what was held back (no stop string can complete any more). */
    String flush() {
        return stopped ? "" : take(pending.length());
    }

    private String take(int count) {
        String shown = pending.substring(0, count);
        pending.delete(0, count);
        return shown;
    }
}
