package io.moefleet.router.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Who may call the API: its keys, each with its own limits, and whether the operator's pages ({@code /metrics},
 * {@code /dashboard}, {@code /v1/fleet/...}) need a key too. No key at all: the API is open (a local fleet).
 *
 * <p>The keys file has one key per line, {@code KEY [rpm=N] [concurrent=N]}: at most N requests a minute, at most N
 * under way at once (absent: no limit); blank lines and lines starting with {@code #} are skipped.
 *
 * @param openMetrics whether the operator's pages answer without a key
 */
public record ApiKeys(Map<String, Limits> keys, boolean openMetrics) {

    /** One key's limits: requests a minute and requests under way at once; 0 for none. */
    public record Limits(int requestsPerMinute, int concurrent) {

        public static final Limits NONE = new Limits(0, 0);

        public Limits {
            if (requestsPerMinute < 0 || concurrent < 0) {
                throw new IllegalArgumentException("limits cannot be negative, got rpm=" + requestsPerMinute + " concurrent=" + concurrent);
            }
        }
    }

    /** An open API: no key asked for. */
    public static final ApiKeys OPEN = new ApiKeys(Map.of(), true);

    public ApiKeys {
        keys = Map.copyOf(keys);
    }

    public boolean required() {
        return !keys.isEmpty();
    }

    /** The keys of a keys file, and {@code extra} (a key given on the command line) with {@code extraLimits}. */
    public static ApiKeys of(Path file, String extra, Limits extraLimits, boolean openMetrics) {
        Map<String, Limits> keys = new LinkedHashMap<>();
        if (file != null) {
            List<String> lines;
            try {
                lines = Files.readAllLines(file);
            } catch (IOException e) {
                throw new IllegalArgumentException("the API keys file " + file + " cannot be read: " + e.getMessage(), e);
            }
            for (int n = 0; n < lines.size(); n++) {
                String line = lines.get(n).strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String where = file + " line " + (n + 1);
                String[] words = line.split("\\s+");
                int rpm = 0;
                int concurrent = 0;
                for (int w = 1; w < words.length; w++) {
                    String[] setting = words[w].split("=", 2);
                    int value = setting.length == 2 ? wholeNumber(where, setting[1]) : -1;
                    switch (setting[0]) {
                        case "rpm" -> rpm = value;
                        case "concurrent" -> concurrent = value;
                        default -> throw new IllegalArgumentException(where + ": '" + words[w] + "' is not rpm=N or concurrent=N");
                    }
                    if (value < 0) {
                        throw new IllegalArgumentException(where + ": '" + words[w] + "' needs a whole number");
                    }
                }
                if (keys.put(words[0], new Limits(rpm, concurrent)) != null) {
                    throw new IllegalArgumentException(where + ": the key is listed twice");
                }
            }
            if (keys.isEmpty()) {
                throw new IllegalArgumentException("the API keys file " + file + " lists no key");
            }
        }
        if (extra != null) {
            keys.put(extra, extraLimits);
        }
        return new ApiKeys(keys, openMetrics);
    }

    private static int wholeNumber(String where, String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": '" + text + "' is not a whole number");
        }
    }

    /** The keys in a form fit for a log: how many, never the keys. */
    @Override
    public String toString() {
        return keys.size() + " API key(s)" + (openMetrics ? ", metrics open" : "");
    }
}
