package io.moefleet.cli;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** {@code --name value} options and {@code --flag} switches of one command; asking for an option marks it known. */
final class Args {

    private final String command;
    private final Map<String, String> values = new HashMap<>();
    private final Set<String> flags = new HashSet<>();
    private final Set<String> used = new HashSet<>();

    private Args(String command) {
        this.command = command;
    }

    /** @param switches the options of this command that take no value */
    static Args parse(String command, String[] argv, int from, Set<String> switches) {
        Args args = new Args(command);
        for (int i = from; i < argv.length; i++) {
            String a = argv[i];
            if (!a.startsWith("--") || a.length() == 2) {
                throw new UsageException(command + ": unexpected argument '" + a + "'");
            }
            String name = a.substring(2);
            int eq = name.indexOf('=');
            if (eq >= 0) {
                args.values.put(name.substring(0, eq), name.substring(eq + 1));
            } else if (switches.contains(name)) {
                args.flags.add(name);
            } else if (i + 1 < argv.length) {
                args.values.put(name, argv[++i]);
            } else {
                throw new UsageException(command + ": option --" + name + " needs a value");
            }
        }
        return args;
    }

    String required(String name) {
        used.add(name);
        String v = values.get(name);
        if (v == null) {
            throw new UsageException(command + ": missing --" + name);
        }
        return v;
    }

    String optional(String name, String fallback) {
        used.add(name);
        return values.getOrDefault(name, fallback);
    }

    boolean flag(String name) {
        used.add(name);
        return flags.contains(name);
    }

    int intValue(String name, String fallback, int min) {
        String v = optional(name, fallback);
        try {
            int n = Integer.parseInt(v);
            if (n < min) {
                throw new UsageException(command + ": --" + name + " must be >= " + min + ", got " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": --" + name + " must be an integer, got '" + v + "'");
        }
    }

    /**
     * {@code --threads T}: the compute threads of this process; by default the cores it may use (a container's CPU limit
     * on Kubernetes). Results are bitwise the same for any T.
     */
    int threads() {
        return intValue("threads", String.valueOf(Runtime.getRuntime().availableProcessors()), 1);
    }

    /** Comma-separated token ids, e.g. {@code 1,2,3}. */
    int[] tokens(String name) {
        String v = required(name);
        try {
            return java.util.Arrays.stream(v.split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": --" + name + " must be comma-separated token ids, got '" + v + "'");
        }
    }

    /** Fails on options the command never asked about (a typo should not be silently ignored). */
    void rejectUnknown() {
        Set<String> unknown = new HashSet<>(values.keySet());
        unknown.addAll(flags);
        unknown.removeAll(used);
        if (!unknown.isEmpty()) {
            throw new UsageException(command + ": unknown option --" + unknown.iterator().next());
        }
    }
}
