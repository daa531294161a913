package io.moefleet.model.weights;

/**
 * The order in which a product of a few tokens (fewer than four; one or two for BF16, whose tile takes three) visits a
 * thread's run of rows: row r together with row r + half of the run, each token in turn, then the odd row left over
 * alone. Two rows at once make two sequential streams from memory far apart, which the hardware prefetchers follow
 * (rows a few KB apart, read in lockstep, stream markedly slower), and two independent FMA chains where one row has a
 * single chain that waits on itself. A format's two-row kernel performs exactly its one-row kernel's operations for
 * each row, so every sum is bitwise the same. Measured inside one engine, paired decodes against one row at a time
 * (2026-12-07, 40 pairs a run): BF16 1.04-1.32, q8 1.16-1.19, INT4 1.22-1.23, FP8 1.31; four rows at once read
 * 0.85-0.87 of two for q8.
 */
final class RowPairs {

    /** Rows {@code r0} and {@code r1} against token {@code t}. */
    @FunctionalInterface
    interface TwoRows {
        void compute(int r0, int r1, int t);
    }

    /** Row {@code r} against token {@code t}. */
    @FunctionalInterface
    interface OneRow {
        void compute(int r, int t);
    }

    private RowPairs() {
    }

    static void run(int rowFrom, int rowTo, int tokens, TwoRows two, OneRow one) {
        int half = (rowTo - rowFrom) / 2;
        for (int r = rowFrom; r < rowFrom + half; r++) {
            for (int t = 0; t < tokens; t++) {
                two.compute(r, r + half, t);
            }
        }
        if ((rowTo - rowFrom) % 2 == 1) {
            for (int t = 0; t < tokens; t++) {
                one.compute(rowTo - 1, t);
            }
        }
    }
}
