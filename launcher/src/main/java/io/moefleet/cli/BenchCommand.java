package io.moefleet.cli;

import io.moefleet.cli.fleet.FleetBench;
import io.moefleet.cli.fleet.FleetBenchReport;
import io.moefleet.cli.fleet.FleetLayout;
import io.moefleet.cli.fleet.FleetStartException;
import io.moefleet.engine.Benchmark;
import io.moefleet.engine.Engine;
import io.moefleet.engine.MemoryBandwidth;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.router.RouterService;
import io.moefleet.router.scheduler.SchedulerLimits;
import io.opentelemetry.api.OpenTelemetry;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;

/**
 * {@code bench}: prefill and decode throughput of the engine beside the measured bandwidth roofline; with
 * {@code --fleet}, decode throughput of a fleet started for the run beside the engine's, per batch size, with the
 * per-layer call latencies, bytes and floors of {@link FleetBench}; with {@code --api}, the HTTP API under concurrent
 * streaming clients ({@link ApiLoad}): aggregate output tokens/s, time to first token, time per output token.
 */
final class BenchCommand implements Command {

    @Override
    public java.util.Set<String> switches() {
        return java.util.Set.of("json", "fleet", "api", "soak", "single-process", "beside-single-process");
    }

    @Override
    public String usage() {
        return "bench --model DIR [--threads T] [--quantize q8] [--batch B] [--json] "
                + "| --fleet [--batch 1,8,32] [--micro-batches 1,2] [--spin-us 100] [--warm-up-steps 128] [--steps 64] [--rounds 3] [--floor-calls 2000] "
                + FleetOptions.USAGE
                + " | --api [--concurrency 1,8,16,32] [--prompt-tokens 128] [--output-tokens 64] [--warm-up-s 30] [--warm-up-max-s 180] [--measure-s 15] "
                + "[--max-running N] (--single-process | " + FleetOptions.USAGE + " [--micro-batches 1,2] [--spin-us N] [--beside-single-process])"
                + " | --soak [--concurrency 64] [--minutes 10] [--report-every-s 60] [--prompt-tokens 128] [--output-tokens 64] "
                + "(--single-process | " + FleetOptions.USAGE + ")";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path model = Path.of(args.required("model"));
        int threads = args.threads();
        boolean json = args.flag("json");
        if (args.flag("fleet")) {
            return runFleet(args, model, threads, json, out, err);
        }
        if (args.flag("api")) {
            return runApi(args, model, threads, json, out, err);
        }
        if (args.flag("soak")) {
            return runSoak(args, model, threads, out, err);
        }
        int batch = args.intValue("batch", "1", 1);
        ModelWeights.Quantize quantize = ModelWeights.Quantize.parse(args.optional("quantize", "none"));
        for (String option : List.of("warm-up-steps", "steps", "floor-calls", "rounds")) {
            if (args.optional(option, null) != null) {
                throw new UsageException("bench: --" + option + " goes with --fleet");
            }
        }
        for (String option : FleetOptions.NAMES) {
            if (args.optional(option, null) != null) {
                throw new UsageException("bench: --" + option + " goes with --fleet");
            }
        }
        args.rejectUnknown();
        try (Workers bandwidthReaders = new Workers(threads);
             Engine engine = Engine.open(model, new ConsoleProgress(err, "loading " + model.getFileName()), threads, quantize)) {
            err.println("running prefill (" + Benchmark.PREFILL_TOKENS + " tokens) and decode (" + Benchmark.DECODE_TOKENS
                    + " tokens per sequence) with warm-up; batch-1 decode " + Benchmark.ROOFLINE_ROUNDS
                    + " times, each between two read-bandwidth sweeps with " + threads + " thread(s)");
            Benchmark.Result r = new Benchmark(engine).run(batch, threads, () -> MemoryBandwidth.measure(bandwidthReaders), err::println);
            out.printf("prefill            %8.1f tokens/s (%d-token prompt, median of %d)%n", r.prefillTokensPerS(),
                    Benchmark.PREFILL_TOKENS, Benchmark.PREFILL_ROUNDS);
            out.printf("decode, batch %-4d %8.1f tokens/s%n", batch, r.decodeTokensPerS());
            if (batch > 1) {
                out.printf("decode, batch 1    %8.1f tokens/s%n", r.decodeBatch1TokensPerS());
            }
            out.printf("read bandwidth     %8.2f GB/s (%d threads; around the median round)%n", r.bandwidthBytesPerS() / 1e9, threads);
            out.printf("active weights     %8.1f MB per token%n", r.activeBytesPerToken() / 1e6);
            out.printf("roofline           %8.1f tokens/s; batch-1 decode reaches %.1f%% of it%n",
                    r.bandwidthBytesPerS() / r.activeBytesPerToken(), 100 * r.rooflineShare());
            if (json) {
                out.println(r.json());
            }
        }
        return 0;
    }

    private static int runFleet(Args args, Path model, int threads, boolean json, PrintStream out, PrintStream err) {
        if (!args.optional("quantize", "none").equals("none")) {
            throw new UsageException("bench: --quantize is not supported with --fleet (the services hold the checkpoint's own format)");
        }
        List<Integer> batches = batchSizes(args.optional("batch", "1,8,32"));
        int warmUpSteps = args.intValue("warm-up-steps", "128", 0);
        int steps = args.intValue("steps", "64", 1);
        int floorCalls = args.intValue("floor-calls", "2000", 1);
        List<Integer> microBatches = integers("micro-batches", "micro-batch counts (1 or 2)", args.optional("micro-batches", "1,2"), 1);
        List<Integer> spinMicros = integers("spin-us", "microseconds", args.optional("spin-us", "100"), 0);
        int rounds = args.intValue("rounds", "3", 1);
        FleetLayout layout = FleetOptions.layout("bench", args, model);
        OpenTelemetry telemetry = RouterTelemetry.open("bench", args);
        args.rejectUnknown();
        FleetBenchReport report;
        try {
            report = FleetBench.run(layout, new FleetBench.Settings(batches, threads, warmUpSteps, steps, floorCalls, microBatches,
                    spinMicros, rounds), telemetry,
                    new ConsoleProgress(err, "loading " + model.getFileName()), FleetOptions.logsRoot(), err);
        } catch (FleetStartException e) {
            err.println("fleet bench: " + e.getMessage());
            return 1;
        }
        out.print(report.table());
        if (json) {
            out.println(report.json());
        }
        return 0;
    }

    /**
     * Serves the model (fleet, or engine alone) with the API on a free port and measures each concurrency level in
     * steady state ({@link ApiLoad#measure}); with {@code --beside-single-process}, the engine alone after the fleet, in
     * the same run, and the fleet's figures as shares of the engine's.
     */
    private static int runApi(Args args, Path model, int threads, boolean json, PrintStream out, PrintStream err)
            throws Exception {
        List<Integer> levels = batchSizes(args.optional("concurrency", "1,8,16,32"));
        int warmUpLeast = args.intValue("warm-up-s", "30", 0);
        int warmUpMost = args.intValue("warm-up-max-s", String.valueOf(6 * warmUpLeast), warmUpLeast);
        Duration window = Duration.ofSeconds(args.intValue("measure-s", "15", 0));
        ApiWorkload workload = new ApiWorkload(args.intValue("prompt-tokens", "128", 1), args.intValue("output-tokens", "64", 1),
                new ApiLoad.WarmUp(Duration.ofSeconds(warmUpLeast), Duration.ofSeconds(warmUpMost), window), window);
        boolean singleProcess = args.flag("single-process");
        boolean besideEngine = args.flag("beside-single-process");
        if (singleProcess && besideEngine) {
            throw new UsageException("bench: --beside-single-process goes with a fleet's placement flags, not --single-process");
        }
        if (singleProcess && (args.optional("micro-batches", null) != null || args.optional("spin-us", null) != null)) {
            throw new UsageException("bench: --micro-batches and --spin-us go with a fleet, not --single-process");
        }
        List<OptionalInt> microBatches = microBatchCounts(args);
        OptionalInt spinMicros = FleetOptions.spinMicros(args);
        Served served = serve(args, model, threads, singleProcess, "api bench", SchedulerLimits.DEFAULT.maxRunning(), err);
        if (served == null) {
            return 1;
        }
        String mode = singleProcess ? "single-process" : "fleet";
        List<SteppedLevel> measured = measureLevels(served, mode, levels, microBatches, spinMicros, workload, out, err);
        String levelsJson = "\"levels\": [" + levelsJson(measured) + "]";
        if (besideEngine) {
            Served engine = serve(args, model, threads, true, "api bench", SchedulerLimits.DEFAULT.maxRunning(), err);
            if (engine == null) {
                return 1;
            }
            List<SteppedLevel> engineLevels = measureLevels(engine, "single-process", levels, List.of(OptionalInt.empty()),
                    OptionalInt.empty(), workload, out, err);
            out.printf("fleet / single process, same run:%n%11s %3s %17s %17s%n", "concurrency", "mb", "output t/s", "TTFT p50");
            for (SteppedLevel stepped : measured) {
                ApiLoad.Level fleet = stepped.level();
                ApiLoad.Level alone = engineLevels.get(levels.indexOf(fleet.concurrency())).level();
                out.printf(Locale.ROOT, "%11d %3d %16.2fx %16.2fx%n", fleet.concurrency(), stepped.microBatches(),
                        fleet.outputTokensPerSecond() / alone.outputTokensPerSecond(), fleet.ttftP50Ms() / alone.ttftP50Ms());
            }
            levelsJson += ", \"single_process\": {\"levels\": [" + levelsJson(engineLevels) + "]}";
        }
        if (json) {
            out.printf(Locale.ROOT, "{\"mode\": \"%s\", \"prompt_tokens\": %d, \"output_tokens\": %d, %s}%n", mode,
                    workload.promptTokens(), workload.outputTokens(), levelsJson);
        }
        return 0;
    }

    /**
     * {@code --micro-batches 1,2}: each count in turn at every level, on the same fleet (a same-run comparison); not
     * given, one empty entry: the stack steps as it does.
     */
    private static List<OptionalInt> microBatchCounts(Args args) {
        String given = args.optional("micro-batches", null);
        if (given == null) {
            return List.of(OptionalInt.empty());
        }
        return integers("micro-batches", "micro-batch counts (1 or 2)", given, 1).stream()
                .map(count -> OptionalInt.of(FleetOptions.microBatches("bench", count))).toList();
    }

    /**
     * The requests of an API bench: prompt and output lengths, each level's warm-up (on past its least in steps of the
     * measured window while the output rate still rises) and measured time.
     */
    private record ApiWorkload(int promptTokens, int outputTokens, ApiLoad.WarmUp warmUp, Duration window) {}

    /**
     * Measures each level on {@code served}, under each of {@code microBatches} in turn (empty: as the stack steps), the
     * router spinning {@code spinMicros} where given, printing its table; then stops it.
     */
    private static List<SteppedLevel> measureLevels(Served served, String mode, List<Integer> levels, List<OptionalInt> microBatches,
            OptionalInt spinMicros, ApiWorkload workload, PrintStream out, PrintStream err) throws Exception {
        List<SteppedLevel> measured = new java.util.ArrayList<>();
        try (ServingStack stack = served.stack()) {
            err.printf("%s: each level warmed up (not counted) for at least %d s, then on in steps of %d s while its output"
                    + " rate still rose by more than %.0f%%, up to %d s; then measured for at least %d s%n", mode,
                    workload.warmUp().least().toSeconds(), workload.warmUp().step().toSeconds(), 100 * ApiLoad.WarmUp.STILL_RISING,
                    workload.warmUp().most().toSeconds(), workload.window().toSeconds());
            out.printf("%s: %d-token prompts (token ids), %d output tokens each (ignore_eos), streamed%n",
                    mode.replace('-', ' '), workload.promptTokens(), workload.outputTokens());
            out.printf("%11s %3s %9s %12s %21s %21s %9s %11s%n", "concurrency", "mb", "requests", "output t/s", "TTFT p50/p99 ms",
                    "TPOT p50/p99 ms", "wall s", "warm-up s");
            for (int level : levels) {
                for (int setting = 0; setting < microBatches.size(); setting++) {
                    stack.fleetSteps(new FleetOptions.StepOptions(microBatches.get(setting), spinMicros));
                    int steppedIn = stack.microBatches();
                    // fresh prompts for every setting too: none finds another's pages in the KV pool
                    ApiLoad.Level r = served.load().measure(level, workload.promptTokens(), workload.outputTokens(),
                            100L * level + setting, workload.warmUp(), workload.window());
                    out.printf(Locale.ROOT, "%11d %3d %9d %12.1f %21s %21s %9.1f %11.0f%n", level, steppedIn, r.requests(),
                            r.outputTokensPerSecond(), String.format(Locale.ROOT, "%.0f / %.0f", r.ttftP50Ms(), r.ttftP99Ms()),
                            String.format(Locale.ROOT, "%.1f / %.1f", r.tpotP50Ms(), r.tpotP99Ms()), r.wallSeconds(),
                            r.warmUpSeconds());
                    measured.add(new SteppedLevel(steppedIn, r));
                }
            }
        }
        return measured;
    }

    /** A level's figures, taken with the server stepping in {@code microBatches} per step. */
    private record SteppedLevel(int microBatches, ApiLoad.Level level) {}

    private static String levelsJson(List<SteppedLevel> levels) {
        StringBuilder json = new StringBuilder();
        for (SteppedLevel stepped : levels) {
            ApiLoad.Level r = stepped.level();
            json.append(json.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT,
                    "{\"concurrency\": %d, \"micro_batches\": %d, \"requests\": %d, \"output_tokens_per_s\": %.2f, "
                            + "\"ttft_p50_ms\": %.1f, \"ttft_p99_ms\": %.1f, \"tpot_p50_ms\": %.2f, \"tpot_p99_ms\": %.2f, "
                            + "\"warm_up_s\": %.1f}",
                    r.concurrency(), stepped.microBatches(), r.requests(),
                    r.outputTokensPerSecond(), r.ttftP50Ms(), r.ttftP99Ms(), r.tpotP50Ms(), r.tpotP99Ms(), r.warmUpSeconds()));
        }
        return json.toString();
    }

    /**
     * Serves the model and runs {@link Soak}: {@code --concurrency} streaming clients back to back for
     * {@code --minutes}; exit code 1 when a request failed.
     */
    private static int runSoak(Args args, Path model, int threads, PrintStream out, PrintStream err) throws Exception {
        int concurrency = args.intValue("concurrency", "64", 1);
        double minutes;
        try {
            minutes = Double.parseDouble(args.optional("minutes", "10"));
        } catch (NumberFormatException e) {
            throw new UsageException("bench: --minutes must be a number, got '" + args.optional("minutes", "10") + "'");
        }
        if (!(minutes > 0)) {
            throw new UsageException("bench: --minutes must be above 0");
        }
        int reportEvery = args.intValue("report-every-s", "60", 1);
        int promptTokens = args.intValue("prompt-tokens", "128", 1);
        int outputTokens = args.intValue("output-tokens", "64", 1);
        // every stream in the batch unless told otherwise: a soak of N streams measures N at once, not a queue timing out
        Served served = serve(args, model, threads, args.flag("single-process"), "soak", concurrency, err);
        if (served == null) {
            return 1;
        }
        try (ServingStack stack = served.stack()) {
            Soak.Report report = new Soak(served.load(), stack.processes()).run(concurrency,
                    java.time.Duration.ofMillis((long) (minutes * 60_000)), reportEvery, promptTokens, outputTokens, out, err);
            return report.errors() == 0 ? 0 : 1;
        }
    }

    /** A model served for a load: the stack, and a client of its API. */
    private record Served(ServingStack stack, ApiLoad load) {}

    /** Serves the model (the engine alone, or a fleet by the placement flags) on a free port; null when it fails to start. */
    private static Served serve(Args args, Path model, int threads, boolean singleProcess, String command, int maxRunningDefault,
            PrintStream err) {
        FleetLayout layout = singleProcess ? null : FleetOptions.layout("bench", args, model);
        RouterService.Settings settings = ServeCommand.settings(args, model, "127.0.0.1", 0, maxRunningDefault);
        OpenTelemetry telemetry = RouterTelemetry.open("bench", args);
        args.rejectUnknown();
        ServingStack stack;
        try {
            stack = ServingStack.start(model, layout, threads, settings, telemetry, err, () -> { });
        } catch (FleetStartException e) {
            err.println(command + ": " + e.getMessage());
            return null;
        }
        int vocab = ModelConfig.read(model.resolve("config.json")).vocabSize();
        return new Served(stack, new ApiLoad(URI.create("http://127.0.0.1:" + stack.router().port()), settings.servedModelName(), vocab));
    }

    /** Comma-separated batch sizes, e.g. {@code 1,8,32}. */
    private static List<Integer> batchSizes(String value) {
        return integers("batch", "batch sizes", value, 1);
    }

    /** {@code --option a,b,c}: integers of at least {@code min}, or a usage error naming the option. */
    private static List<Integer> integers(String option, String what, String value, int min) {
        try {
            List<Integer> values = Arrays.stream(value.split(",")).map(String::strip).map(Integer::parseInt).toList();
            if (values.stream().allMatch(v -> v >= min)) {
                return values;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageException("bench: --" + option + " must be comma-separated " + what + " of at least " + min + ", got '"
                + value + "'");
    }
}
