package io.moefleet.cli.fleet;

import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.sampling.Logits;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Decode throughput as a batch sees it: {@code batch} sequences prefilled with {@link #PROMPT_TOKENS} random tokens
 * (not timed), then {@code steps} greedy steps of one token each for all of them at once (timed). The engine and the
 * fleet run this same loop over the same tokens (same seed), so their figures differ only by where the layers run.
 */
final class DecodeThroughput {

    static final int PROMPT_TOKENS = 16;

    private final Transformer model;
    private final Function<List<StepChunk>, List<float[][]>> step;

    /** @param step how a step runs: {@code model::step}, or through the router's step tracer */
    DecodeThroughput(Transformer model, Function<List<StepChunk>, List<float[][]>> step) {
        this.model = model;
        this.step = step;
    }

    /** Tokens per second over the timed steps; {@code beforeTiming} runs after the prefill, just before the clock starts. */
    double tokensPerS(int batch, int steps, long seed, Runnable beforeTiming) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Sequence> sequences = new ArrayList<>(batch);
        try {
            List<StepChunk> prompts = new ArrayList<>(batch);
            for (int b = 0; b < batch; b++) {
                Sequence sequence = model.newSequence();
                sequences.add(sequence);
                prompts.add(StepChunk.next(sequence, random.ints(PROMPT_TOKENS, 0, model.config().vocabSize()).toArray(), false));
            }
            List<float[][]> logits = step.apply(prompts);
            beforeTiming.run();
            long start = System.nanoTime();
            for (int s = 0; s < steps; s++) {
                List<StepChunk> next = new ArrayList<>(batch);
                for (int b = 0; b < batch; b++) {
                    next.add(StepChunk.next(sequences.get(b), new int[] {Logits.argmax(logits.get(b)[0])}, false));
                }
                logits = step.apply(next);
            }
            return (double) batch * steps / ((System.nanoTime() - start) / 1e9);
        } finally {
            sequences.forEach(model::release);   // on the fleet, frees their caches on the attention instances
        }
    }
}
