package io.moefleet.cli;

import io.moefleet.engine.Engine;
import io.moefleet.sampling.SamplingParams;
import io.moefleet.model.weights.ModelWeights;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/** {@code generate}: exactly N greedy tokens (end-of-sequence ids do not stop it: it is a test harness); prints their ids. */
final class GenerateCommand implements Command {

    @Override
    public java.util.Set<String> switches() {
        return java.util.Set.of("fleet");
    }

    @Override
    public String usage() {
        return "generate --model DIR --tokens 1,2,3 --max-tokens N [--threads T] [--quantize q8]";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path model = Path.of(args.required("model"));
        int[] prompt = args.tokens("tokens");
        int count = args.intValue("max-tokens", "16", 0);
        if (args.flag("fleet")) {
            throw new UsageException("generate: --fleet needs the fleet services, which this build does not have yet; "
                    + "run without --fleet for the single-process engine");
        }
        int threads = args.intValue("threads", String.valueOf(Runtime.getRuntime().availableProcessors()), 1);
        ModelWeights.Quantize quantize = ModelWeights.Quantize.parse(args.optional("quantize", "none"));
        args.rejectUnknown();
        try (Engine engine = Engine.open(model, new ConsoleProgress(err, "loading " + model.getFileName()), threads, quantize)) {
            long start = System.nanoTime();
            int[] generated = engine.generate(prompt, count, SamplingParams.greedy());
            err.printf("generated %d tokens in %.2f s%n", count, (System.nanoTime() - start) / 1e9);
            out.println(Arrays.stream(generated).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
        }
        return 0;
    }
}
