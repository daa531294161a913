package io.moefleet.cli;

import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.engine.Engine;
import io.moefleet.sampling.SamplingParams;
import io.moefleet.tokenizer.TextTokenizer;
import io.moefleet.tokenizer.Tokenizers;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code demo}: makes the demo checkpoint if it is missing and prints a greedy completion of a prompt. The weights are
 * random, so the text means nothing; it shows the whole path from checkpoint files to decoded tokens.
 */
final class DemoCommand implements Command {

    static final long DEMO_SEED = 2026;

    @Override
    public String usage() {
        return "demo [--model DIR] [--prompt TEXT] [--max-tokens N] [--threads T]";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path dir = Path.of(args.optional("model", defaultDirectory().toString()));
        String prompt = args.optional("prompt", "The fleet of experts answers:");
        int count = args.intValue("max-tokens", "24", 1);
        int threads = args.intValue("threads", String.valueOf(Runtime.getRuntime().availableProcessors()), 1);
        args.rejectUnknown();
        if (!Files.exists(dir.resolve("config.json"))) {
            err.println("making the demo checkpoint in " + dir + " (preset demo, seed " + DEMO_SEED + ")");
            CheckpointWriter.write(Preset.config("demo"), DEMO_SEED, WeightFormat.BF16, dir);
        }
        try (TextTokenizer tokenizer = Tokenizers.load(dir);
                Engine engine = Engine.open(dir, new ConsoleProgress(err, "loading demo"), threads)) {
            int[] text = tokenizer.encode(prompt, false);
            int[] tokens = new int[text.length + 1];
            tokens[0] = tokenizer.sequenceMarkers().bos()
                    .orElseThrow(() -> new IllegalArgumentException(dir + " names no beginning-of-sequence token"));
            System.arraycopy(text, 0, tokens, 1, text.length);
            long start = System.nanoTime();
            int[] generated = engine.generate(tokens, count, SamplingParams.greedy());
            double seconds = (System.nanoTime() - start) / 1e9;
            out.println(prompt + tokenizer.decode(generated));
            err.printf("%n%d greedy tokens in %.2f s from %s (random weights: the text has no meaning).%n", count, seconds, dir);
            err.println("Next: ./fleet generate --model " + dir + " --tokens 1,2,3 --max-tokens 8");
            err.println("      ./fleet logits --model " + dir + " --tokens 1,2,3 --out /tmp/logits.f32");
            err.println("      ./fleet checkpoint --preset small --seed 1 --out /tmp/small   (the benchmark shape)");
        }
        return 0;
    }

    static Path defaultDirectory() {
        return Path.of(System.getProperty("fleet.home", ".")).resolve("build").resolve("demo-checkpoint");
    }
}
