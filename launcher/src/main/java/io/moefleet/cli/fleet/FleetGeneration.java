package io.moefleet.cli.fleet;

import io.moefleet.attention.RemoteAttention;
import io.moefleet.attention.RoundRobinAssignment;
import io.moefleet.expert.RemoteExperts;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.sampling.SamplingParams;
import io.moefleet.sampling.SequenceSampler;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Greedy generation through a running fleet, this process the router (for now): embeddings, gates, shared experts and
 * {@code lm_head} here, attention on the fleet's attention instances, routed experts on its shards. The same loop as
 * {@code Engine.generate}, so the ids are the engine's.
 */
public final class FleetGeneration {

    /** Per RPC (one layer's call): generous, as a large prompt's prefill is one call per layer. */
    private static final Duration CALL_DEADLINE = Duration.ofSeconds(60);

    private FleetGeneration() {}

    /** Exactly {@code count} greedy tokens after {@code prompt}; end-of-sequence ids do not stop it. */
    public static int[] greedy(FleetProcesses fleet, Path model, int[] prompt, int count, int threads,
            ModelWeights.LoadProgress progress) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        try (Checkpoint checkpoint = Checkpoint.open(model);
             Workers workers = new Workers(threads);
             RemoteAttention attention = new RemoteAttention(checkpoint.config(), fleet.attentionAddresses(),
                     new RoundRobinAssignment(), CALL_DEADLINE, OpenTelemetry.noop());
             RemoteExperts experts = new RemoteExperts(checkpoint.config(), fleet.placement(), fleet.expertAddresses(),
                     CALL_DEADLINE, OpenTelemetry.noop())) {
            Transformer router = new Transformer(checkpoint.config(), ModelWeights.load(checkpoint, progress), workers,
                    attention, experts);
            Sequence sequence = router.newSequence();
            SequenceSampler sampler = new SequenceSampler(SamplingParams.greedy(), prompt, checkpoint.config().vocabSize());
            float[] last = router.step(List.of(StepChunk.next(sequence, prompt, false))).getFirst()[0];
            for (int i = 0; i < count; i++) {
                int token = sampler.next(last);
                if (i + 1 < count) {
                    last = router.step(List.of(StepChunk.next(sequence, new int[] {token}, false))).getFirst()[0];
                }
            }
            router.release(sequence);
            return sampler.generated();
        }
    }
}
