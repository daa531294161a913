package io.moefleet.attention.impl;

import io.grpc.Status;
import io.grpc.StatusException;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.VectorSupport;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.LocalAttention;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.weights.AttentionWeights;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.proto.attention.StatsResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One attention instance's state: every layer's attention weights (mapped from the checkpoint), the engine's own
 * {@link LocalAttention} on a fixed pool of workers, and the sequences it serves, keyed by the router's sequence ids.
 * One call at a time: the workers and the attention buffers serve one layer at a time.
 */
public final class InstanceAttention implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(InstanceAttention.class.getName());

    private final Checkpoint checkpoint;
    private final Workers workers;
    private final LocalAttention attention;
    private final Map<Long, Sequence> sequences = new HashMap<>();
    // the chunks of the last call: reused while a step goes through its layers, so RoPE angles are computed once per step
    private List<ChunkSpan> lastSpans = List.of();
    private List<StepChunk> lastChunks = List.of();
    private long calls;
    private long tokenRows;
    private long started;
    private long released;

    private InstanceAttention(Checkpoint checkpoint, Workers workers, AttentionWeights[] weights) {
        this.checkpoint = checkpoint;
        this.workers = workers;
        this.attention = new LocalAttention(checkpoint.config(), layer -> weights[layer], new MatMul(workers));
    }

    /** Maps every layer's attention weights (and nothing else) from the checkpoint in {@code model}. */
    public static InstanceAttention load(Path model, int threads) {
        String vectors = VectorSupport.check();
        Checkpoint checkpoint = Checkpoint.open(model);
        try {
            long start = System.nanoTime();
            AttentionWeights[] weights = ModelWeights.loadAttention(checkpoint, ModelWeights.LoadProgress.NONE);
            LOG.log(System.Logger.Level.INFO, "attention weights of {0} layers mapped in {1} ms; {2} thread(s), {3}",
                    weights.length, (System.nanoTime() - start) / 1_000_000, threads, vectors);
            return new InstanceAttention(checkpoint, new Workers(threads), weights);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return checkpoint.config();
    }

    /**
     * Attends the batch's chunks at its layer and returns o_proj's output rows. A sequence not held here is started by a
     * chunk at position 0 of layer 0; any other chunk of it is FAILED_PRECONDITION, checked before any state changes.
     */
    public synchronized float[][] attend(AttendBatch batch) throws StatusException {
        for (ChunkSpan span : batch.chunks()) {
            Sequence held = sequences.get(span.sequenceId());
            if (held == null && (span.start() != 0 || batch.layer() != 0)) {
                throw Status.FAILED_PRECONDITION.withDescription("sequence " + Long.toUnsignedString(span.sequenceId())
                        + " is not held here (released, or started on another instance): a chunk at position " + span.start()
                        + " of layer " + batch.layer() + " needs its cached positions; only position 0 of layer 0 starts a sequence")
                        .asException();
            }
            if (held != null && span.start() > held.length()) {
                throw Status.FAILED_PRECONDITION.withDescription("sequence " + Long.toUnsignedString(span.sequenceId())
                        + ": a chunk at position " + span.start() + " but only " + held.length() + " positions are cached")
                        .asException();
            }
        }
        List<StepChunk> chunks = chunksOf(batch.chunks());
        int total = batch.rows().length;
        float[][] out = new float[total][config().hiddenSize()];
        attention.attend(batch.layer(), chunks, batch.rows(), total, out);   // advances the sequences after the last layer
        calls++;
        tokenRows += total;
        return out;
    }

    /** Frees the named sequences' caches; returns how many of them were held. */
    public synchronized int release(List<Long> sequenceIds) {
        int freed = 0;
        for (long id : sequenceIds) {
            if (sequences.remove(id) != null) {
                freed++;
            }
        }
        released += freed;
        lastSpans = List.of();   // a released id started again must not meet its old sequence
        lastChunks = List.of();
        return freed;
    }

    public synchronized StatsResponse stats() {
        long cached = 0;
        for (Sequence sequence : sequences.values()) {
            cached += sequence.length();
        }
        return StatsResponse.newBuilder()
                .setCalls(calls)
                .setTokenRows(tokenRows)
                .setSequencesStarted(started)
                .setSequencesReleased(released)
                .setSequencesHeld(sequences.size())
                .setCachedPositions(cached)
                .build();
    }

    /** The model's chunks for these spans, starting the sequences not held yet; the same list as the last call's when the spans are. */
    private List<StepChunk> chunksOf(List<ChunkSpan> spans) {
        if (spans.equals(lastSpans)) {
            return lastChunks;
        }
        List<StepChunk> chunks = new ArrayList<>(spans.size());
        for (ChunkSpan span : spans) {
            Sequence sequence = sequences.get(span.sequenceId());
            if (sequence == null) {
                sequence = attention.newSequence();
                sequences.put(span.sequenceId(), sequence);
                started++;
            }
            // attention reads only the chunk's positions; the token ids stay with the router
            chunks.add(new StepChunk(sequence, span.start(), new int[span.tokens()], false));
        }
        lastSpans = spans;
        lastChunks = List.copyOf(chunks);
        return lastChunks;
    }

    @Override
    public synchronized void close() {
        sequences.clear();
        workers.close();
        checkpoint.close();
    }
}
