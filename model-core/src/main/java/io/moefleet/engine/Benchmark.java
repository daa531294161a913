package io.moefleet.engine;

import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.sampling.Logits;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;

/**
 * Prefill and decode throughput of the single-process engine, beside the bandwidth roofline. Each figure is taken
 * after warm-up runs of the same shapes (the JIT compiles the kernels during them).
 */
public final class Benchmark {

    public static final int PREFILL_TOKENS = 128;
    public static final int DECODE_TOKENS = 64;
    private static final int DECODE_PROMPT = 16;
    /** Batch-1 decode runs set against the bandwidth around them; odd, so that one is the median. */
    public static final int ROOFLINE_ROUNDS = 5;
    /** Prefills measured; the median is reported. */
    public static final int PREFILL_ROUNDS = 5;
    /** Runs of every shape before timing: C2 compiles the vector kernels during them (interpreted, they run 100x slower). */
    private static final int WARM_UP_RUNS = 3;

    /** What {@code ./fleet bench} reports. */
    public record Result(double prefillTokensPerS, double decodeTokensPerS, double decodeBatch1TokensPerS, int batch,
            int threads, double bandwidthBytesPerS, long activeBytesPerToken) {

        /** Decode at batch 1 over the bandwidth roofline. */
        public double rooflineShare() {
            return decodeBatch1TokensPerS / (bandwidthBytesPerS / activeBytesPerToken);
        }

        public String json() {
            return String.format(Locale.ROOT,
                    "{\"prefill_tokens_per_s\": %.2f, \"decode_tokens_per_s\": %.2f, \"batch\": %d, \"threads\": %d, "
                            + "\"bandwidth_gb_per_s\": %.2f, \"active_bytes_per_token\": %d, \"roofline_share\": %.3f}",
                    prefillTokensPerS, decodeTokensPerS, batch, threads, bandwidthBytesPerS / 1e9, activeBytesPerToken,
                    rooflineShare());
        }
    }

    private final Engine engine;
    private final SplittableRandom random = new SplittableRandom(42);

    public Benchmark(Engine engine) {
        this.engine = engine;
    }

    /**
     * Prefill, then {@link #ROOFLINE_ROUNDS} rounds of batch-1 decode each between two bandwidth measurements (on a
     * shared machine the bandwidth drifts by a third within minutes, so each decode is set against the bandwidth of its
     * own moment: the higher of the two around it, which never overstates the share); the round with the median share
     * is reported. Then decode at {@code batch}.
     *
     * @param bandwidth measures the machine's read bandwidth now, in bytes per second
     * @param log one line per round
     */
    public Result run(int batch, int threads, DoubleSupplier bandwidth, Consumer<String> log) {
        Transformer model = engine.model();
        long activeBytes = ActiveBytes.perToken(model.config(), model.weights());
        for (int i = 0; i < WARM_UP_RUNS; i++) {
            prefillTokensPerS();
            decodeTokensPerS(Math.max(batch, 4), DECODE_TOKENS / 4);   // batches of 4+ compile the multi-token kernels too
            decodeTokensPerS(1, DECODE_TOKENS / 4);
        }
        double prefill = medianPrefillTokensPerS();
        List<RooflineRound> rounds = new ArrayList<>(ROOFLINE_ROUNDS);
        double before = bandwidth.getAsDouble();
        for (int i = 0; i < ROOFLINE_ROUNDS; i++) {
            double decode = decodeTokensPerS(1, DECODE_TOKENS);
            double after = bandwidth.getAsDouble();
            RooflineRound round = new RooflineRound(decode, Math.max(before, after));
            rounds.add(round);
            log.accept(String.format(Locale.ROOT, "round %d: batch-1 decode %.1f tokens/s between %.2f and %.2f GB/s: %.1f%% of the roofline",
                    i + 1, decode, before / 1e9, after / 1e9, 100 * round.share(activeBytes)));
            before = after;
        }
        rounds.sort(Comparator.comparingDouble(r -> r.share(activeBytes)));
        RooflineRound median = rounds.get(ROOFLINE_ROUNDS / 2);
        double decode = batch > 1 ? decodeTokensPerS(batch, DECODE_TOKENS) : median.decodeTokensPerS();
        return new Result(prefill, decode, median.decodeTokensPerS(), batch, threads, median.bandwidthBytesPerS(), activeBytes);
    }

    /** One batch-1 decode run and the bandwidth it is set against. */
    private record RooflineRound(double decodeTokensPerS, double bandwidthBytesPerS) {
        double share(long activeBytesPerToken) {
            return decodeTokensPerS * activeBytesPerToken / bandwidthBytesPerS;
        }
    }

    private int[] randomTokens(int n) {
        return random.ints(n, 0, engine.model().config().vocabSize()).toArray();
    }

    /**
     * The median of {@link #PREFILL_ROUNDS} prefills: one prefill is half a second, and a moment's stall of the machine
     * (they come every few seconds here) can halve a single figure. llama-bench, too, reports over repetitions.
     */
    private double medianPrefillTokensPerS() {
        double[] rounds = new double[PREFILL_ROUNDS];
        for (int i = 0; i < PREFILL_ROUNDS; i++) {
            rounds[i] = prefillTokensPerS();
        }
        Arrays.sort(rounds);
        return rounds[PREFILL_ROUNDS / 2];
    }

    double prefillTokensPerS() {
        Transformer model = engine.model();
        long start = System.nanoTime();
        model.step(List.of(StepChunk.next(model.newSequence(), randomTokens(PREFILL_TOKENS), false)));
        return PREFILL_TOKENS / ((System.nanoTime() - start) / 1e9);
    }

    /** {@code batch} sequences decoding {@code steps} greedy tokens each, one step for all of them at a time. */
    double decodeTokensPerS(int batch, int steps) {
        Transformer model = engine.model();
        List<Sequence> sequences = new ArrayList<>();
        List<StepChunk> prompts = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            Sequence s = model.newSequence();
            sequences.add(s);
            prompts.add(StepChunk.next(s, randomTokens(DECODE_PROMPT), false));
        }
        List<float[][]> logits = model.step(prompts);
        long start = System.nanoTime();
        for (int step = 0; step < steps; step++) {
            List<StepChunk> next = new ArrayList<>(batch);
            for (int b = 0; b < batch; b++) {
                next.add(StepChunk.next(sequences.get(b), new int[] {Logits.argmax(logits.get(b)[0])}, false));
            }
            logits = model.step(next);
        }
        return (double) batch * steps / ((System.nanoTime() - start) / 1e9);
    }
}
