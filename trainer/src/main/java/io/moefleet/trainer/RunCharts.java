package io.moefleet.trainer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The charts comparing runs (e.g. MuonClip, Muon, AdamW at the same settings): {@code loss.png}, each run's training
 * loss per step with its held-out evaluations dashed, and {@code max-logit.png}, each run's largest attention logit per
 * step with QK-Clip's tau marked.
 */
public final class RunCharts {

    private RunCharts() {}

    /** Writes both charts into {@code directory}; returns their paths. */
    public static List<Path> write(Map<String, RunLog> runs, double tau, Path directory) throws IOException {
        List<Chart.Series> loss = new ArrayList<>();
        List<Chart.Series> logits = new ArrayList<>();
        int i = 0;
        for (Map.Entry<String, RunLog> run : runs.entrySet()) {
            java.awt.Color color = Chart.PALETTE[i++ % Chart.PALETTE.length];
            RunLog log = run.getValue();
            loss.add(new Chart.Series(run.getKey() + " training", log.steps(), log.loss(), color, false));
            if (log.evalSteps().length > 0) {
                loss.add(new Chart.Series(run.getKey() + " held-out", log.evalSteps(), log.heldOutLoss(), color, true));
            }
            logits.add(new Chart.Series(run.getKey(), log.steps(), log.maxLogit(), color, false));
        }
        Path lossChart = directory.resolve("loss.png");
        Path logitChart = directory.resolve("max-logit.png");
        Chart.write(lossChart, "loss per token (nats)", "loss", loss, Double.NaN, "");
        Chart.write(logitChart, "largest scaled attention logit (q·k · softmax scale) per step", "max logit", logits, tau,
                "tau = " + tau);
        return List.of(lossChart, logitChart);
    }
}
