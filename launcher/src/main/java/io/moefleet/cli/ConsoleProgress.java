package io.moefleet.cli;

import io.moefleet.model.weights.ModelWeights;
import java.io.PrintStream;

/** A progress bar on stderr while a large checkpoint pages in; silent for small ones. */
final class ConsoleProgress implements ModelWeights.LoadProgress {

    private static final long SHOW_ABOVE_BYTES = 256L << 20;
    private static final int WIDTH = 30;

    private final PrintStream err;
    private final String label;
    private int lastPercent = -1;

    ConsoleProgress(PrintStream err, String label) {
        this.err = err;
        this.label = label;
    }

    @Override
    public void update(long done, long total) {
        if (total < SHOW_ABOVE_BYTES) {
            return;
        }
        int percent = (int) (100 * done / total);
        if (percent == lastPercent) {
            return;
        }
        lastPercent = percent;
        int filled = percent * WIDTH / 100;
        err.printf("\r%s [%s%s] %3d%% %.2f / %.2f GB", label, "#".repeat(filled), " ".repeat(WIDTH - filled), percent,
                done / 1e9, total / 1e9);
        if (done >= total) {
            err.println();
        }
        err.flush();
    }
}
