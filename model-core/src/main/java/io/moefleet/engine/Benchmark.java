package io.moefleet.engine;

import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.sampling.Logits;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Prefill and decode throughput of the single-process engine, beside the bandwidth roofline. Each figure is taken
 * after warm-up runs of the same shapes (the JIT compiles the kernels during them).
 */
public final class Benchmark {

    public static final int PREFILL_TOKENS = 128;
    public static final int DECODE_TOKENS = 64;
    private static final int DECODE_PROMPT = 16;
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
            return String.format(java.util.Locale.ROOT,
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

    public Result run(int batch, int threads, double bandwidth) {
        Transformer model = engine.model();
        for (int i = 0; i < WARM_UP_RUNS; i++) {
            prefillTokensPerS();
            decodeTokensPerS(Math.max(batch, 4), DECODE_TOKENS / 4);   // batches of 4+ compile the multi-token kernels too
        }
        double prefill = prefillTokensPerS();
        double decode1 = decodeTokensPerS(1, DECODE_TOKENS);
        double decode = batch > 1 ? decodeTokensPerS(batch, DECODE_TOKENS) : decode1;
        return new Result(prefill, decode, decode1, batch, threads, bandwidth,
                ActiveBytes.perToken(model.config(), model.weights()));
    }

    private int[] randomTokens(int n) {
        return random.ints(n, 0, engine.model().config().vocabSize()).toArray();
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
