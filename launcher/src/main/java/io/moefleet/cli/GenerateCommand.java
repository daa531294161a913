package io.moefleet.cli;

import io.moefleet.cli.fleet.FleetGeneration;
import io.moefleet.cli.fleet.FleetLayout;
import io.moefleet.cli.fleet.FleetProcesses;
import io.moefleet.cli.fleet.FleetStartException;
import io.moefleet.engine.Engine;
import io.moefleet.expert.ExpertPlacement;
import io.moefleet.expert.PlacementFlags;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.sampling.SamplingParams;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * {@code generate}: exactly N greedy tokens (end-of-sequence ids do not stop it: it is a test harness); prints their ids.
 * With {@code --fleet} it starts a fleet for the run (this process the router) and stops it after.
 */
final class GenerateCommand implements Command {

    private static final List<String> FLEET_OPTIONS = List.of("expert-shards", "experts-per-shard", "replicas",
            "attention-instances", "kv-members", "service-threads");

    @Override
    public java.util.Set<String> switches() {
        return java.util.Set.of("fleet");
    }

    @Override
    public String usage() {
        return "generate --model DIR --tokens 1,2,3 --max-tokens N [--threads T] [--quantize q8] "
                + "| --fleet (--expert-shards N | --experts-per-shard K) [--replicas R] [--attention-instances A] "
                + "[--kv-members M] [--service-threads T]";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path model = Path.of(args.required("model"));
        int[] prompt = args.tokens("tokens");
        int count = args.intValue("max-tokens", "16", 0);
        int threads = args.intValue("threads", String.valueOf(Runtime.getRuntime().availableProcessors()), 1);
        ModelWeights.Quantize quantize = ModelWeights.Quantize.parse(args.optional("quantize", "none"));
        int[] generated;
        if (args.flag("fleet")) {
            if (quantize != ModelWeights.Quantize.NONE) {
                throw new UsageException("generate: --quantize is not supported with --fleet (the services hold the checkpoint's own format)");
            }
            FleetLayout layout = fleetLayout(args, model);
            args.rejectUnknown();
            try (FleetProcesses fleet = FleetProcesses.start(layout, logsRoot(), err)) {
                long start = System.nanoTime();
                generated = FleetGeneration.greedy(fleet, model, prompt, count, threads,
                        new ConsoleProgress(err, "loading " + model.getFileName()));
                err.printf("generated %d tokens through the fleet in %.2f s%n", count, (System.nanoTime() - start) / 1e9);
            } catch (FleetStartException e) {
                err.println("fleet generate: " + e.getMessage());
                return 1;
            }
        } else {
            for (String option : FLEET_OPTIONS) {
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

    /** The placement flags, as {@code serve} takes them, checked against the model's config. */
    private static FleetLayout fleetLayout(Args args, Path model) {
        ModelConfig config = ModelConfig.read(model.resolve("config.json"));
        ExpertPlacement placement;
        try {
            placement = new PlacementFlags(optionalInt(args, "expert-shards"), optionalInt(args, "experts-per-shard"),
                    optionalInt(args, "replicas"), null).resolve(config);
        } catch (IllegalArgumentException e) {
            throw new UsageException("generate: " + e.getMessage());
        }
        int attentionInstances = args.intValue("attention-instances", "1", 1);
        int kvMembers = args.intValue("kv-members", "2", 1);
        int serviceThreads = args.intValue("service-threads",
                Integer.toString(FleetLayout.defaultServiceThreads(placement, attentionInstances)), 1);
        return new FleetLayout(model, placement, attentionInstances, kvMembers, serviceThreads);
    }

    private static Integer optionalInt(Args args, String name) {
        String value = args.optional(name, null);
        return value == null ? null : args.intValue(name, value, 1);
    }

    /** Under {@code ./fleet}, the repository's {@code build/fleet-logs}; else the temporary folder's. */
    private static Path logsRoot() {
        String home = System.getProperty("fleet.home");
        return home != null ? Path.of(home, "build", "fleet-logs")
                : Path.of(System.getProperty("java.io.tmpdir"), "moefleet-fleet-logs");
    }
}
