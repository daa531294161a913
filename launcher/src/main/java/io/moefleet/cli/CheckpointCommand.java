package io.moefleet.cli;

import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import java.io.PrintStream;
import java.nio.file.Path;

/** {@code checkpoint}: a deterministic random checkpoint of a preset; prints the directories written. */
final class CheckpointCommand implements Command {

    @Override
    public String usage() {
        return "checkpoint --preset " + String.join("|", Preset.names()) + " --seed S --out DIR [--dtype bf16|fp8|int4|f32]";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        String preset = args.required("preset");
        long seed = parseSeed(args.required("seed"));
        Path dir = Path.of(args.required("out"));
        WeightFormat format = WeightFormat.parse(args.optional("dtype", "bf16"));
        args.rejectUnknown();
        for (Path written : CheckpointWriter.write(Preset.config(preset), seed, format, dir)) {
            out.println(written);
        }
        return 0;
    }

    private static long parseSeed(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new UsageException("checkpoint: --seed must be an integer, got '" + s + "'");
        }
    }
}
