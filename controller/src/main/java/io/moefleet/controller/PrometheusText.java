package io.moefleet.controller;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The samples of a Prometheus text exposition that the controller reads: unlabelled values and histogram buckets. */
final class PrometheusText {

    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*})?\\s+(\\S+)");
    private static final Pattern LE = Pattern.compile("le=\"([^\"]+)\"");

    private final Map<String, Double> values = new HashMap<>();
    private final Map<String, TreeMap<Double, Double>> buckets = new HashMap<>();

    private PrometheusText() {}

    static PrometheusText parse(String text) {
        PrometheusText parsed = new PrometheusText();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Matcher sample = SAMPLE.matcher(line.strip());
            if (!sample.find()) {
                continue;
            }
            String name = sample.group(1);
            double value = number(sample.group(3));
            if (name.endsWith("_bucket") && sample.group(2) != null) {
                Matcher le = LE.matcher(sample.group(2));
                if (le.find()) {
                    parsed.buckets.computeIfAbsent(name.substring(0, name.length() - "_bucket".length()), k -> new TreeMap<>())
                            .put(number(le.group(1)), value);
                }
            } else if (sample.group(2) == null) {
                parsed.values.put(name, value);
            }
        }
        return parsed;
    }

    /** The unlabelled sample called {@code name}, 0 when absent. */
    double value(String name) {
        return values.getOrDefault(name, 0.0);
    }

    /** A histogram's cumulative counts by upper bound (+Inf last), empty when absent. */
    TreeMap<Double, Double> buckets(String histogram) {
        return buckets.getOrDefault(histogram, new TreeMap<>());
    }

    private static double number(String text) {
        return switch (text) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(text);
        };
    }
}
