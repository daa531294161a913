package io.moefleet.chat;

import com.hubspot.jinjava.objects.PyWrapper;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A request's JSON object as chat templates expect a Python dict: key access, iteration over keys, and the dict
 * methods templates call ({@code message.get('reasoning_content', '')}, {@code items()}, {@code keys()}). Jinjava
 * would otherwise wrap a map into its own type, which has no two-argument {@code get}; it leaves a {@link PyWrapper}
 * as it is. Public only because Jinjava calls the methods by reflection.
 */
public final class PythonDict extends LinkedHashMap<String, Object> implements PyWrapper {

    private static final long serialVersionUID = 1L;

    private PythonDict() {}

    /** The value of a key, or the fallback when the dict has no such key (a key holding None gives None). */
    public Object get(Object key, Object fallback) {
        return containsKey(key) ? get(key) : fallback;
    }

    public Set<Map.Entry<String, Object>> items() {
        return entrySet();
    }

    public Set<String> keys() {
        return keySet();
    }

    /** A deep copy of a template variable in which every map is a {@code PythonDict} (and every collection a list). */
    static Object of(Object value) {
        return switch (value) {
            case Map<?, ?> map -> {
                PythonDict dict = new PythonDict();
                map.forEach((k, v) -> dict.put(String.valueOf(k), of(v)));
                yield dict;
            }
            case Collection<?> items -> {
                List<Object> list = new ArrayList<>(items.size());
                items.forEach(item -> list.add(of(item)));
                yield list;
            }
            case null, default -> value;
        };
    }
}
