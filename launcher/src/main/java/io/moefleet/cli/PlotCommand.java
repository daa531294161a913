package io.moefleet.cli;

import io.moefleet.trainer.RunCharts;
import io.moefleet.trainer.RunLog;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code plot}: PNG charts of training runs' {@code train.jsonl}, side by side; prints the files written. */
final class PlotCommand implements Command {

    @Override
    public String usage() {
        return "plot --runs NAME=DIR[,NAME=DIR...] --out DIR [--tau 100]";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        String runs = args.required("runs");
        Path outDir = Path.of(args.required("out"));
        double tau = Double.parseDouble(args.optional("tau", "100"));
        args.rejectUnknown();
        Map<String, RunLog> logs = new LinkedHashMap<>();
        for (String run : runs.split(",")) {
            int eq = run.indexOf('=');
            if (eq <= 0) {
                throw new UsageException("plot: --runs wants NAME=DIR pairs, got '" + run + "'");
            }
            Path dir = Path.of(run.substring(eq + 1));
            logs.put(run.substring(0, eq), RunLog.read(dir.resolve("train.jsonl")));
        }
        Files.createDirectories(outDir);
        for (Path chart : RunCharts.write(logs, tau, outDir)) {
            out.println(chart);
        }
        return 0;
    }
}
