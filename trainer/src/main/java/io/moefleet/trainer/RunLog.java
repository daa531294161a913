package io.moefleet.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A run's {@code train.jsonl} read back: per step the training loss and max logit, and the held-out evaluations. */
public record RunLog(double[] steps, double[] loss, double[] maxLogit, double[] evalSteps, double[] heldOutLoss) {

    public static RunLog read(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<double[]> rows = new ArrayList<>();
        List<double[]> evals = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = json.readTree(line);
            double step = n.path("step").asDouble();
            rows.add(new double[] {step, n.path("loss").asDouble(), n.path("max_logit").asDouble()});
            if (n.path("held_out_loss").isNumber()) {
                evals.add(new double[] {step, n.path("held_out_loss").asDouble()});
            }
        }
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no steps");
        }
        return new RunLog(column(rows, 0), column(rows, 1), column(rows, 2), column(evals, 0), column(evals, 1));
    }

    private static double[] column(List<double[]> rows, int i) {
        return rows.stream().mapToDouble(r -> r[i]).toArray();
    }
}
