package io.moefleet.engine;

import io.moefleet.model.compute.VectorSupport;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.sampling.SamplingParams;
import io.moefleet.sampling.SequenceSampler;
import java.nio.file.Path;
import java.util.List;

/** The single-process engine: one checkpoint, one model, requests run one after another. What the fleet must match token for token. */
public final class Engine implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Engine.class.getName());

    private final Checkpoint checkpoint;
    private final Workers workers;
    private final Transformer model;

    private Engine(Checkpoint checkpoint, Workers workers, Transformer model) {
        this.checkpoint = checkpoint;
        this.workers = workers;
        this.model = model;
    }

    /** Opens a checkpoint computed on the calling thread alone. */
    public static Engine open(Path directory, ModelWeights.LoadProgress progress) {
        return open(directory, progress, 1);
    }

    /** Opens a checkpoint whose products are split over {@code threads} threads (the caller's included). */
    public static Engine open(Path directory, ModelWeights.LoadProgress progress, int threads) {
        return open(directory, progress, threads, ModelWeights.Quantize.NONE);
    }

    /** As {@link #open(Path, ModelWeights.LoadProgress, int)}, projections held in {@code quantize}'s form. */
    public static Engine open(Path directory, ModelWeights.LoadProgress progress, int threads, ModelWeights.Quantize quantize) {
        String vectors = VectorSupport.check();
        Checkpoint checkpoint = Checkpoint.open(directory);
        Workers workers = new Workers(threads);
        try {
            ModelWeights weights = ModelWeights.load(checkpoint, progress).quantized(quantize);
            Transformer model = new Transformer(checkpoint.config(), weights, workers);
            LOG.log(System.Logger.Level.DEBUG, "engine on {0} thread(s), {1}", threads, vectors);
            return new Engine(checkpoint, workers, model);
        } catch (RuntimeException e) {
            workers.close();
            checkpoint.close();
            throw e;
        }
    }

    public Transformer model() {
        return model;
    }

    public Checkpoint checkpoint() {
        return checkpoint;
    }

    /** One forward pass over {@code tokens}: the logits of every position, [tokens][vocab]. */
    public float[][] logits(int[] tokens) {
        return model.step(List.of(new StepChunk(model.newSequence(), 0, tokens, true))).getFirst();
    }

    /** Exactly {@code count} new tokens after {@code prompt}, sampled with {@code params}; end-of-sequence ids do not stop it. */
    public int[] generate(int[] prompt, int count, SamplingParams params) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        Sequence sequence = model.newSequence();
        SequenceSampler sampler = new SequenceSampler(params, prompt, model.config().vocabSize());
        float[] last = model.step(List.of(StepChunk.next(sequence, prompt, false))).getFirst()[0];
        for (int i = 0; i < count; i++) {
            int token = sampler.next(last);
            if (i + 1 < count) {
                last = model.step(List.of(StepChunk.next(sequence, new int[] {token}, false))).getFirst()[0];
            }
        }
        return sampler.generated();
    }

    @Override
    public void close() {
        workers.close();
        checkpoint.close();
    }
}
