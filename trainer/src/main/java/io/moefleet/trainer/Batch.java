package io.moefleet.trainer;

/**
 * Sequences trained on together: {@code inputs[s][i]} is followed by {@code targets[s][i]} (the next token, or -1 for a
 * position that is not scored). Each sequence starts at position 0.
 */
public record Batch(int[][] inputs, int[][] targets) {

    public Batch {
        if (inputs.length == 0 || inputs.length != targets.length) {
            throw new IllegalArgumentException("a batch needs at least one sequence and a target row per input row");
        }
        for (int s = 0; s < inputs.length; s++) {
            if (inputs[s].length == 0 || inputs[s].length != targets[s].length) {
                throw new IllegalArgumentException("sequence " + s + ": " + inputs[s].length + " inputs, "
                        + targets[s].length + " targets (need as many, at least one)");
            }
        }
    }

    /** Next-token prediction over each window: inputs {@code w[0 .. n-1)}, targets {@code w[1 .. n)}. */
    public static Batch nextToken(int[][] windows) {
        int[][] inputs = new int[windows.length][];
        int[][] targets = new int[windows.length][];
        for (int s = 0; s < windows.length; s++) {
            inputs[s] = java.util.Arrays.copyOf(windows[s], windows[s].length - 1);
            targets[s] = java.util.Arrays.copyOfRange(windows[s], 1, windows[s].length);
        }
        return new Batch(inputs, targets);
    }

    int[] flatInputs() {
        return flat(inputs);
    }

    int[] flatTargets() {
        return flat(targets);
    }

    private static int[] flat(int[][] rows) {
        return java.util.Arrays.stream(rows).flatMapToInt(java.util.Arrays::stream).toArray();
    }
}
