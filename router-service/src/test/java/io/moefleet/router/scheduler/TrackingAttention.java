package io.moefleet.router.scheduler;

import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.AttentionBackend;
import io.moefleet.model.forward.LocalAttention;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Local attention that records the sequences it is told to free, and (through {@link #admission()}) those a scheduler
 * admits: what a test needs to see that every sequence's KV cache was freed.
 */
public final class TrackingAttention implements AttentionBackend {

    private final AttentionBackend inner;
    private final Set<Long> admitted = ConcurrentHashMap.newKeySet();
    private final Set<Long> released = ConcurrentHashMap.newKeySet();

    public TrackingAttention(AttentionBackend inner) {
        this.inner = inner;
    }

    /** Attention over {@code reference}'s weights on {@code workers}, tracked. */
    public static TrackingAttention local(Transformer reference, Workers workers) {
        return new TrackingAttention(new LocalAttention(reference.config(),
                layer -> reference.weights().layers()[layer].attention(), new MatMul(workers)));
    }

    /** {@code reference}'s model with this attention. */
    public Transformer model(Transformer reference, Workers workers) {
        return new Transformer(reference.config(), reference.weights(), workers, this, null);
    }

    /** Admits as {@link SequenceAdmission#NONE} does (nothing cached), recording the sequence. */
    public SequenceAdmission admission() {
        return (sequence, prompt) -> {
            admitted.add(sequence.id());
            return 0;
        };
    }

    @Override
    public void beginStep(List<StepChunk> chunks) {
        inner.beginStep(chunks);
    }

    @Override
    public Pending begin(int layer, List<StepChunk> chunks, float[][] normed, int total, float[][] out) {
        return inner.begin(layer, chunks, normed, total, out);
    }

    @Override
    public void release(Sequence sequence) {
        released.add(sequence.id());
        inner.release(sequence);
    }

    /** Those of {@code ids} freed so far. */
    public Set<Long> released(Set<Long> ids) {
        Set<Long> out = new HashSet<>(ids);
        out.retainAll(released);
        return out;
    }

    /** The sequences admitted through {@link #admission()} and not freed yet. */
    public Set<Long> unreleased() {
        Set<Long> out = new HashSet<>(admitted);
        out.removeAll(released);
        return out;
    }
}
