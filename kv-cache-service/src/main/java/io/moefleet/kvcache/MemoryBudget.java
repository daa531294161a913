package io.moefleet.kvcache;

import java.util.Locale;

/** A memory size as written on a command line: bytes, or a number with {@code k}, {@code m} or {@code g} (powers of 1024). */
public record MemoryBudget(long bytes) {

    private static final long MIB = 1L << 20;

    public MemoryBudget {
        if (bytes < MIB) {
            throw new IllegalArgumentException("a memory budget is at least 1m (Hazelcast counts in MiB), not " + bytes
                    + " bytes");
        }
    }

    public static MemoryBudget parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        int shift = switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            default -> 0;
        };
        String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
        try {
            return new MemoryBudget(Math.multiplyExact(Long.parseLong(digits), 1L << shift));
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("not a memory size: '" + text + "' (e.g. 512m, 2g)", e);
        }
    }

    /** Whole MiB, rounded down: the unit of Hazelcast's USED_HEAP_SIZE limit. */
    public int mebibytes() {
        return (int) Math.min(Integer.MAX_VALUE, bytes / MIB);
    }
}
