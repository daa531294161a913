package io.moefleet.cli;

import io.moefleet.cli.fleet.FleetLayout;
import io.moefleet.cli.fleet.FleetProcesses;
import io.moefleet.cli.fleet.FleetStartException;
import io.moefleet.engine.Engine;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.router.FleetEndpoints;
import io.moefleet.router.FleetRouter;
import io.moefleet.sampling.SamplingParams;
import io.opentelemetry.api.OpenTelemetry;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * {@code generate}: exactly N greedy tokens (end-of-sequence ids do not stop it: it is a test harness); prints their ids.
 * With {@code --fleet} it starts a fleet for the run (this process the router) and stops it after.
 */
final class GenerateCommand implements Command {

    @Override
    public java.util.Set<String> switches() {
        return java.util.Set.of("fleet");
    }

    @Override
    public String usage() {
        return "generate --model DIR --tokens 1,2,3 --max-tokens N [--threads T] [--quantize q8] "
                + "| --fleet " + FleetOptions.USAGE;
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path model = Path.of(args.required("model"));
        int[] prompt = args.tokens("tokens");
        int count = args.intValue("max-tokens", "16", 0);
        int threads = args.threads();
        ModelWeights.Quantize quantize = ModelWeights.Quantize.parse(args.optional("quantize", "none"));
        int[] generated;
        if (args.flag("fleet")) {
            if (quantize != ModelWeights.Quantize.NONE) {
                throw new UsageException("generate: --quantize is not supported with --fleet (the services hold the checkpoint's own format)");
            }
            FleetLayout layout = FleetOptions.layout("generate", args, model);
            OpenTelemetry telemetry = RouterTelemetry.open("generate", args);
            args.rejectUnknown();
            try (FleetProcesses fleet = FleetProcesses.start(layout, FleetOptions.logsRoot(), err);
                 FleetRouter router = FleetRouter.open(
                    new FleetEndpoints(fleet.attentionAddresses(), fleet.placement(), fleet.expertAddresses()), model, threads, new ConsoleProgress(err, "loading " + model.getFileName()),
                    telemetry, fleet.routerCredentials())) {
                long start = System.nanoTime();
                generated = router.greedy(prompt, count);
                err.printf("generated %d tokens through the fleet in %.2f s%n", count, (System.nanoTime() - start) / 1e9);
            } catch (FleetStartException e) {
                err.println("fleet generate: " + e.getMessage());
                return 1;
            }
        } else {
            for (String option : FleetOptions.NAMES) {
                if (args.optional(option, null) != null) {
                    throw new UsageException("generate: --" + option + " goes with --fleet");
                }
            }
            args.rejectUnknown();
            try (Engine engine = Engine.open(model, new ConsoleProgress(err, "loading " + model.getFileName()), threads, quantize)) {
                long start = System.nanoTime();
                generated = engine.generate(prompt, count, SamplingParams.greedy());
                err.printf("generated %d tokens in %.2f s%n", count, (System.nanoTime() - start) / 1e9);
            }
        }
        out.println(Arrays.stream(generated).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
        return 0;
    }

}
