package io.moefleet.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's {@code tojson} filter, replacing Jinjava's (which writes compact JSON): Python's {@code json.dumps}
 * with {@code ensure_ascii=False} by default, and the keyword arguments Hugging Face passes through
 * ({@code ensure_ascii}, {@code indent}, {@code separators}, {@code sort_keys}).
 */
final class ToJsonFilter implements Filter {

    @Override
    public String getName() {
        return "tojson";
    }

    @Override
    public Object filter(Object value, JinjavaInterpreter interpreter, String... args) {
        return filter(value, interpreter, args, Map.of());
    }

    @Override
    public Object filter(Object value, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        if (args.length > 0) {
            throw new IllegalArgumentException("tojson takes keyword arguments only (ensure_ascii, indent, separators, sort_keys)");
        }
        return PythonJson.dumps(value, options(kwargs));
    }

    private static PythonJson.Options options(Map<String, Object> kwargs) {
        Object indentArg = kwargs.get("indent");
        String indent = switch (indentArg) {
            case null -> null;
            case Number n -> " ".repeat(n.intValue());
            default -> indentArg.toString();
        };
        // like json.dumps: indenting drops the space after commas, which would otherwise end every line
        String itemSeparator = indent == null ? ", " : ",";
        String keySeparator = ": ";
        if (kwargs.get("separators") instanceof List<?> separators && separators.size() == 2) {
            itemSeparator = String.valueOf(separators.get(0));
            keySeparator = String.valueOf(separators.get(1));
        }
        return new PythonJson.Options(
                Boolean.TRUE.equals(kwargs.get("ensure_ascii")), indent, itemSeparator, keySeparator,
                Boolean.TRUE.equals(kwargs.get("sort_keys")));
    }
}
