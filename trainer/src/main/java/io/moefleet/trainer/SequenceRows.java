package io.moefleet.trainer;

/**
 * Where each sequence of a batch sits among the step's rows: sequence {@code s} is rows
 * {@code [start[s], start[s] + length[s])}, positions {@code 0 .. length[s])}.
 */
record SequenceRows(int[] start, int[] length, int total, int longest) {

    static SequenceRows of(int[][] sequences) {
        int[] start = new int[sequences.length];
        int[] length = new int[sequences.length];
        int total = 0;
        int longest = 0;
        for (int s = 0; s < sequences.length; s++) {
            start[s] = total;
            length[s] = sequences[s].length;
            total += length[s];
            longest = Math.max(longest, length[s]);
        }
        return new SequenceRows(start, length, total, longest);
    }

    int sequences() {
        return start.length;
    }
}
