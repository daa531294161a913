package io.moefleet.chat;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps} for the values a chat template handles (maps, lists, strings, numbers, booleans, None),
 * byte for byte: what Hugging Face's {@code tojson} writes into prompts, so a tool declaration tokenizes as the model
 * saw it in training.
 */
final class PythonJson {

    /**
     * {@code json.dumps} arguments.
     *
     * @param indent the indentation unit, {@code null} for one line
     * @param itemSeparator between items: {@code ", "}, or {@code ","} when indenting
     * @param keySeparator between a key and its value
     */
    record Options(boolean ensureAscii, String indent, String itemSeparator, String keySeparator, boolean sortKeys) {

        /** {@code json.dumps(x, ensure_ascii=False)}: Hugging Face's {@code tojson} with no arguments. */
        static final Options HUGGING_FACE = new Options(false, null, ", ", ": ", false);
    }

    private PythonJson() {}

    static String dumps(Object value, Options options) {
        StringBuilder out = new StringBuilder();
        write(value, options, 0, out);
        return out.toString();
    }

    private static void write(Object value, Options options, int depth, StringBuilder out) {
        switch (value) {
            case null -> out.append("null");
            case Boolean b -> out.append(b ? "true" : "false");
            case Integer _, Long _, Short _, Byte _, BigInteger _ -> out.append(value);
            case Number n -> out.append(floatRepr(n.doubleValue()));
            case CharSequence s -> writeString(s.toString(), options.ensureAscii(), out);
            case Map<?, ?> map -> writeMap(map, options, depth, out);
            case Collection<?> list -> writeList(list, options, depth, out);
            default -> throw new IllegalArgumentException("Object of type " + value.getClass().getSimpleName()
                    + " is not JSON serializable");
        }
    }

    private static void writeMap(Map<?, ?> map, Options options, int depth, StringBuilder out) {
        if (map.isEmpty()) {
            out.append("{}");
            return;
        }
        List<Map.Entry<String, Object>> entries = new ArrayList<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            entries.add(new AbstractMap.SimpleEntry<>(key(e.getKey()), e.getValue()));
        }
        if (options.sortKeys()) {
            entries.sort(Map.Entry.comparingByKey());
        }
        out.append('{');
        for (int i = 0; i < entries.size(); i++) {
            separate(i, options, depth + 1, out);
            writeString(entries.get(i).getKey(), options.ensureAscii(), out);
            out.append(options.keySeparator());
            write(entries.get(i).getValue(), options, depth + 1, out);
        }
        close(options, depth, out);
        out.append('}');
    }

    private static void writeList(Collection<?> list, Options options, int depth, StringBuilder out) {
        if (list.isEmpty()) {
            out.append("[]");
            return;
        }
        out.append('[');
        int i = 0;
        for (Object item : list) {
            separate(i++, options, depth + 1, out);
            write(item, options, depth + 1, out);
        }
        close(options, depth, out);
        out.append(']');
    }

    private static void separate(int index, Options options, int depth, StringBuilder out) {
        if (index > 0) {
            out.append(options.itemSeparator());
        }
        if (options.indent() != null) {
            out.append('\n').append(options.indent().repeat(depth));
        }
    }

    private static void close(Options options, int depth, StringBuilder out) {
        if (options.indent() != null) {
            out.append('\n').append(options.indent().repeat(depth));
        }
    }

    /** Python turns non-string keys into strings the JSON way: {@code True} is {@code "true"}, {@code None} {@code "null"}. */
    private static String key(Object key) {
        return switch (key) {
            case null -> "null";
            case Boolean b -> b ? "true" : "false";
            case Double d -> floatRepr(d);
            default -> key.toString();
        };
    }

    private static void writeString(String s, boolean ensureAscii, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7E)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /**
     * Python's {@code repr(float)}: the shortest digits that read back as the same double (what Java's
     * {@link Double#toString} picks too), positional from 1e-4 up to 1e16 with at least one decimal, else
     * {@code d.ddde+XX}.
     */
    static String floatRepr(double value) {
        if (Double.isNaN(value)) {
            return "NaN";
        }
        if (Double.isInfinite(value)) {
            return value > 0 ? "Infinity" : "-Infinity";
        }
        String sign = (value < 0 || (value == 0 && 1 / value < 0)) ? "-" : "";
        if (value == 0) {
            return sign + "0.0";
        }
        BigDecimal decimal = shortestDecimal(Math.abs(value));
        String digits = decimal.unscaledValue().toString();
        int pointAt = digits.length() - decimal.scale(); // value = 0.digits * 10^pointAt
        if (pointAt > -4 && pointAt <= 16) {
            if (pointAt <= 0) {
                return sign + "0." + "0".repeat(-pointAt) + digits;
            }
            if (pointAt >= digits.length()) {
                return sign + digits + "0".repeat(pointAt - digits.length()) + ".0";
            }
            return sign + digits.substring(0, pointAt) + "." + digits.substring(pointAt);
        }
        int exponent = pointAt - 1;
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
    }

    /**
     * Java's {@link Double#toString} gives the shortest decimal of at least two digits; Python the shortest of any
     * length. They differ where one digit suffices but another two-digit decimal lies closer (4.9e-324 against 5e-324).
     */
    private static BigDecimal shortestDecimal(double positive) {
        BigDecimal oneDigit = new BigDecimal(positive).round(new MathContext(1, RoundingMode.HALF_EVEN));
        if (oneDigit.doubleValue() == positive) {
            return oneDigit.stripTrailingZeros();
        }
        return new BigDecimal(Double.toString(positive)).stripTrailingZeros();
    }
}
