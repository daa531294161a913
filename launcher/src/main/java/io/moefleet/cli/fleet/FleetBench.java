package io.moefleet.cli.fleet;

import io.moefleet.engine.Engine;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.router.FleetEndpoints;
import io.moefleet.router.FleetRouter;
import io.moefleet.router.LayerCallSummary;
import io.opentelemetry.api.OpenTelemetry;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * {@code ./fleet bench --fleet}: decode throughput of the fleet beside the single-process engine on the same checkpoint
 * and thread count, one right after the other per batch size (never at once: they would share the cores; both stay
 * loaded, the engine's threads parked while the fleet runs and the fleet idle while the engine does); per-layer call
 * latencies and bytes from the router's recorders; and two floors measured on the same machine, an empty gRPC call and
 * a raw socket echo of a layer's dispatch bytes, that say how much of a layer call is the wire and how much the rest.
 */
public final class FleetBench {

    /**
     * @param batches decode batch sizes, in order
     * @param threads the engine's and the router's compute threads
     * @param warmUpSteps untimed decode steps per batch size before the timed ones: every service JVM compiles its own
     *     kernels, and until C2 has, the Vector API runs its fallback code, many times slower (32 steps are not enough
     *     for an expert shard, whose kernels see only its part of each layer)
     * @param steps timed decode steps per batch size
     * @param floorCalls timed round trips per floor, after five times as many untimed ones
     * @param microBatches the fleet's micro-batches per step to measure after the engine (1: whole steps)
     * @param spinMicros the router's spins before parking for an answer to measure (0: parks at once); with the
     *     micro-batch counts, in the order of {@link #runOrder}
     * @param rounds timed engine and fleet rows per batch size, alternated (engine, then each fleet setting, again
     *     and again): this machine's bandwidth switches between two states within minutes, and one pair of rows can
     *     straddle a switch; each row's ratio is the median over the rounds of fleet over the engine row before it
     */
    public record Settings(List<Integer> batches, int threads, int warmUpSteps, int steps, int floorCalls,
            List<Integer> microBatches, List<Integer> spinMicros, int rounds) {

        public Settings {
            batches = List.copyOf(batches);
            microBatches = List.copyOf(microBatches);
            spinMicros = List.copyOf(spinMicros);
            if (spinMicros.isEmpty() || spinMicros.stream().anyMatch(us -> us < 0)) {
                throw new IllegalArgumentException("spins before parking are microseconds from 0, not " + spinMicros);
            }
            if (batches.isEmpty() || batches.stream().anyMatch(b -> b < 1) || threads < 1 || warmUpSteps < 0 || steps < 1
                    || floorCalls < 1 || rounds < 1) {
                throw new IllegalArgumentException("batch sizes, threads, steps, floor calls and rounds must be at least 1, warm-up steps at least 0");
            }
            if (microBatches.isEmpty() || microBatches.stream().anyMatch(m -> m != 1 && m != 2)) {
                throw new IllegalArgumentException("micro-batches per step: 1 or 2, not " + microBatches);
            }
        }
    }

    private static final long SEED = 42;
    private static final int FLOOR_WARM_UP_FACTOR = 5;

    private FleetBench() {}

    public static FleetBenchReport run(FleetLayout layout, Settings settings, OpenTelemetry telemetry,
            ModelWeights.LoadProgress progress, Path logsRoot, PrintStream err) {
        List<FleetBenchReport.BatchFigures> figures = new ArrayList<>();
        FleetBenchReport.Floors floors;
        try (Engine local = Engine.open(layout.model(), progress, settings.threads());
             FleetProcesses fleet = FleetProcesses.start(layout, logsRoot, err);
             FleetRouter router = FleetRouter.open(new FleetEndpoints(fleet.attentionAddresses(), fleet.placement(),
                     fleet.expertAddresses()), layout.model(), settings.threads(), progress, telemetry, fleet.routerCredentials())) {
            DecodeThroughput engineDecode = new DecodeThroughput(local.model(), local.model()::step);
            DecodeThroughput fleetDecode = new DecodeThroughput(router.transformer(),
                    chunks -> router.step(chunks));
            int warmUp = FLOOR_WARM_UP_FACTOR * settings.floorCalls();
            // every service JVM compiles its kernels for every batch size before the first timed row: with five JVMs on
            // few cores their compiler threads are starved, and a row measured before they have finished is the JIT's
            // figure, not the fleet's (the first batch-1 row came out at half the next one's after 128 steps of its own)
            err.printf("fleet: warm-up, %d decode steps at each batch size%n", settings.warmUpSteps());
            for (int batch : settings.batches()) {
                warmUp(fleetDecode, batch, settings);
            }
            List<StepSetting> order = runOrder(settings);
            for (int batch : settings.batches()) {
                // engine and fleet back to back per batch size, alternated round by round: on a shared machine the memory
                // bandwidth drifts over minutes
                err.printf("engine: batch %d, %d decode steps after %d for warm-up%n", batch, settings.steps(), settings.warmUpSteps());
                warmUp(engineDecode, batch, settings);
                double[] engine = new double[settings.rounds()];
                double[][] fleetRows = new double[order.size()][settings.rounds()];
                RowCalls[] lastCalls = new RowCalls[order.size()];
                for (int round = 0; round < settings.rounds(); round++) {
                    engine[round] = engineDecode.tokensPerS(batch, settings.steps(), SEED, () -> {});
                    for (int row = 0; row < order.size(); row++) {
                        StepSetting step = order.get(row);
                        if (round == 0) {
                            err.printf("fleet: batch %d in %d micro-batch(es), spinning %d us before parking, %d decode steps"
                                    + " after %d for warm-up%n", batch, step.microBatches(), step.spinMicros(), settings.steps(),
                                    settings.warmUpSteps());
                        }
                        fleetRows[row][round] = fleetTokensPerS(router, fleetDecode, batch, step, settings, round == 0);
                        lastCalls[row] = new RowCalls(router.expertCalls().summary(), router.attentionCalls().summary());
                    }
                    if (settings.rounds() > 1) {
                        err.printf("round %d, batch %d: engine %.1f tokens/s; fleet/engine %s%n", round + 1, batch, engine[round],
                                rowRatios(fleetRows, round, engine[round]));
                    }
                }
                for (int row = 0; row < order.size(); row++) {
                    StepSetting step = order.get(row);
                    RowCalls calls = lastCalls[row];
                    LayerCallSummary echo = SocketEchoFloor.measure(dispatchBytes(calls.experts()), warmUp, settings.floorCalls());
                    figures.add(new FleetBenchReport.BatchFigures(batch, step.microBatches(), step.spinMicros(), median(engine),
                            median(fleetRows[row]), medianRatio(fleetRows[row], engine), calls.experts(), calls.attention(), echo));
                }
            }
            err.printf("floors: %d empty gRPC calls and socket echoes after %d for warm-up%n", settings.floorCalls(), warmUp);
            LayerCallSummary emptyGrpc = EmptyCallFloor.measure(fleet.expertAddresses().getFirst(), fleet.routerCredentials(), warmUp,
                    settings.floorCalls());
            int largest = dispatchBytes(figures.stream().max(Comparator.comparingDouble(b -> b.experts().bytesSentPerCall()))
                    .orElseThrow().experts());
            floors = new FleetBenchReport.Floors(emptyGrpc, SocketEchoFloor.measure(largest, warmUp, settings.floorCalls()), largest);
        }
        return new FleetBenchReport(settings.threads(), layout, figures, floors);
    }

    /** A fleet row's expert and attention calls, as the router's recorders held them after its last round. */
    private record RowCalls(LayerCallSummary experts, LayerCallSummary attention) {}

    /** Micro-batches per step and spin before parking: one row of the fleet's figures at a batch size. */
    record StepSetting(int microBatches, int spinMicros) {}

    /**
     * Every (micro-batches, spin) asked for, in the order given; when there are several, then again in reverse (A B B
     * A). The JVMs go on compiling while the rows run, so a later row reads faster for that alone (on 2 cores a spin
     * of 0 measured first, then 100, read 100 as 7-35% faster at batch 1; measured mirrored, the two are within
     * noise): each setting's two rows, one early and one late, carry the same drift.
     */
    static List<StepSetting> runOrder(Settings settings) {
        List<StepSetting> once = new ArrayList<>();
        for (int microBatches : settings.microBatches()) {
            for (int spinMicros : settings.spinMicros()) {
                once.add(new StepSetting(microBatches, spinMicros));
            }
        }
        if (once.size() == 1) {
            return once;
        }
        List<StepSetting> mirrored = new ArrayList<>(once);
        mirrored.addAll(once.reversed());
        return mirrored;
    }

    /**
     * The fleet's decode at one batch size, micro-batches and spin (warmed up first in a setting's first round); the
     * router's call recorders then hold this row's calls alone.
     */
    private static double fleetTokensPerS(FleetRouter router, DecodeThroughput fleetDecode, int batch, StepSetting step,
            Settings settings, boolean warmUpFirst) {
        router.transformer().setMicroBatches(step.microBatches());
        router.spinBeforeParking(Duration.ofNanos(1000L * step.spinMicros()));
        if (warmUpFirst) {
            warmUp(fleetDecode, batch, settings);
        }
        return fleetDecode.tokensPerS(batch, settings.steps(), SEED, () -> {
            router.expertCalls().reset();
            router.attentionCalls().reset();
        });
    }

    private static String rowRatios(double[][] fleetRows, int round, double engine) {
        List<String> ratios = new ArrayList<>();
        for (double[] row : fleetRows) {
            ratios.add(String.format(Locale.ROOT, "%.2f", row[round] / engine));
        }
        return String.join(", ", ratios);
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** The median over the rounds of each round's fleet row over that round's engine row. */
    static double medianRatio(double[] fleet, double[] engine) {
        double[] ratios = new double[fleet.length];
        for (int r = 0; r < fleet.length; r++) {
            ratios[r] = fleet[r] / engine[r];
        }
        return median(ratios);
    }

    private static void warmUp(DecodeThroughput decode, int batch, Settings settings) {
        if (settings.warmUpSteps() > 0) {
            decode.tokensPerS(batch, settings.warmUpSteps(), SEED, () -> {});
        }
    }

    /** A layer's dispatch bytes, all shards together (at least one byte: a model without MoE layers dispatches none). */
    private static int dispatchBytes(LayerCallSummary experts) {
        return (int) Math.max(1, Math.round(experts.bytesSentPerCall()));
    }
}
