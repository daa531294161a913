package io.moefleet.attention.impl;

import io.grpc.Status;
import io.grpc.StatusException;
import io.moefleet.attention.KvPoolSettings;
import io.moefleet.kvcache.KvPage;
import io.moefleet.kvcache.ModelIds;
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
import io.moefleet.proto.attention.AdmitResponse;
import io.moefleet.proto.attention.StatsResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One attention instance's state: every layer's attention weights (mapped from the checkpoint), the engine's own
 * {@link LocalAttention} on a fixed pool of workers, the sequences it serves, keyed by the router's sequence ids, and,
 * with a KV pool, its pages ({@link InstancePages}): each full page a step completes is published, and Admit restores
 * a new sequence's cached prefix. One Attend at a time: the workers and the attention buffers serve one layer at a
 * time; Admit waits for the pool outside that lock.
 */
public final class InstanceAttention implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(InstanceAttention.class.getName());

    private final Checkpoint checkpoint;
    private final Workers workers;
    private final LocalAttention attention;
    private final InstancePages pages;
    private final Map<Long, HeldSequence> sequences = new HashMap<>();
    // the chunks of the last call: reused while a step goes through its layers, so RoPE angles are computed once per step
    private List<ChunkSpan> lastSpans = List.of();
    private List<StepChunk> lastChunks = List.of();
    private long calls;
    private long tokenRows;
    private long started;
    private long released;

    private InstanceAttention(Checkpoint checkpoint, Workers workers, AttentionWeights[] weights, InstancePages pages) {
        this.checkpoint = checkpoint;
        this.workers = workers;
        this.attention = new LocalAttention(checkpoint.config(), layer -> weights[layer], new MatMul(workers));
        this.pages = pages;
    }

    /** Maps every layer's attention weights (and nothing else) from the checkpoint in {@code model}; no KV pool. */
    public static InstanceAttention load(Path model, int threads) {
        return load(model, threads, null);
    }

    /** As {@link #load(Path, int)}, publishing to and restoring from the pool of {@code kvPool} (null: none). */
    public static InstanceAttention load(Path model, int threads, KvPoolSettings kvPool) {
        String vectors = VectorSupport.check();
        Checkpoint checkpoint = Checkpoint.open(model);
        InstancePages pages = null;
        try {
            long start = System.nanoTime();
            AttentionWeights[] weights = ModelWeights.loadAttention(checkpoint, ModelWeights.LoadProgress.NONE);
            LOG.log(System.Logger.Level.INFO, "attention weights of {0} layers mapped in {1} ms; {2} thread(s), {3}",
                    weights.length, (System.nanoTime() - start) / 1_000_000, threads, vectors);
            if (kvPool != null) {
                String modelId = ModelIds.ofCheckpoint(model, ModelIds.FLOAT32);
                LOG.log(System.Logger.Level.INFO, "KV pool {0} (cluster {1}): pages of {2} tokens as model {3}, {4} MiB kept hot",
                        String.join(",", kvPool.members()), kvPool.clusterName(), kvPool.pageTokens(), modelId,
                        kvPool.hotBytes() >> 20);
                pages = InstancePages.connect(kvPool, modelId, checkpoint.config().numHiddenLayers(),
                        checkpoint.config().latentWidth());
            }
            return new InstanceAttention(checkpoint, new Workers(threads), weights, pages);
        } catch (RuntimeException e) {
            if (pages != null) {
                pages.close();
            }
            checkpoint.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return checkpoint.config();
    }

    /**
     * Attends the batch's chunks at its layer and returns o_proj's output rows. A sequence not held here (not admitted)
     * is started by a chunk at position 0 of layer 0; any other chunk of it is FAILED_PRECONDITION, checked before any
     * state changes. After the model's last layer the chunks' tokens are recorded and, with a pool, every page they
     * complete is published.
     */
    public synchronized float[][] attend(AttendBatch batch) throws StatusException {
        for (ChunkSpan span : batch.chunks()) {
            HeldSequence held = sequences.get(span.sequenceId());
            if (held == null && (span.start() != 0 || batch.layer() != 0)) {
                throw Status.FAILED_PRECONDITION.withDescription("sequence " + Long.toUnsignedString(span.sequenceId())
                        + " is not held here (released, or started on another instance): a chunk at position " + span.start()
                        + " of layer " + batch.layer() + " needs its cached positions; only Admit or position 0 of layer 0 "
                        + "starts a sequence")
                        .asException();
            }
            if (held != null && span.start() > held.sequence().length()) {
                throw Status.FAILED_PRECONDITION.withDescription("sequence " + Long.toUnsignedString(span.sequenceId())
                        + ": a chunk at position " + span.start() + " but only " + held.sequence().length()
                        + " positions are cached")
                        .asException();
            }
        }
        List<StepChunk> chunks = chunksOf(batch.chunks());
        int total = batch.rows().length;
        float[][] out = new float[total][config().hiddenSize()];
        attention.attend(batch.layer(), chunks, batch.rows(), total, out);   // advances the sequences after the last layer
        if (batch.layer() == config().numHiddenLayers() - 1) {
            for (ChunkSpan span : batch.chunks()) {
                HeldSequence held = sequences.get(span.sequenceId());
                held.record(span.start(), span.tokenIds());
                if (pages != null) {
                    pages.publishFullPages(held, span.start());
                }
            }
        }
        calls++;
        tokenRows += total;
        return out;
    }

    /**
     * Starts sequence {@code sequenceId} with its prompt: restores the longest prefix of the prompt's full pages found
     * hot here or in the pool (none without a pool, and never the whole prompt) and answers how many tokens that is.
     * The pool is asked outside the lock, so steps of other sequences go on meanwhile. FAILED_PRECONDITION when the
     * sequence is held here already.
     */
    public AdmitResponse admit(long sequenceId, int[] prompt) throws StatusException {
        synchronized (this) {
            refuseHeld(sequenceId);
        }
        RestoredPrefix restored = pages != null ? pages.restore(prompt) : RestoredPrefix.NONE;
        synchronized (this) {
            refuseHeld(sequenceId);
            Sequence sequence = attention.newSequence();
            for (KvPage page : restored.pages()) {
                sequence.appendLatents(page.tokenCount(), page.latentBytes().asFloatBuffer());
            }
            int cached = sequence.length();
            sequences.put(sequenceId, HeldSequence.restored(sequence, Arrays.copyOf(prompt, cached), restored.keys()));
            started++;
            forgetLastChunks();
            return AdmitResponse.newBuilder()
                    .setCachedTokens(cached)
                    .setHotPages(restored.hotPages())
                    .setPoolPages(restored.poolPages())
                    .build();
        }
    }

    /** Leading full pages of {@code tokens} held hot here (0 without a pool). */
    public int hotPrefix(int[] tokens) {
        return pages != null ? pages.hotPrefix(tokens) : 0;
    }

    /** Tokens per page, 0 without a pool. */
    public int pageTokens() {
        return pages != null ? pages.pageTokens() : 0;
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
        forgetLastChunks();   // a released id started again must not meet its old sequence
        return freed;
    }

    public synchronized StatsResponse stats() {
        long cached = 0;
        for (HeldSequence held : sequences.values()) {
            cached += held.sequence().length();
        }
        StatsResponse.Builder stats = StatsResponse.newBuilder()
                .setCalls(calls)
                .setTokenRows(tokenRows)
                .setSequencesStarted(started)
                .setSequencesReleased(released)
                .setSequencesHeld(sequences.size())
                .setCachedPositions(cached)
                .setKvCapacityPositions(kvCapacityPositions());
        if (pages != null) {
            stats.setPages(pages.stats());
        }
        return stats.build();
    }

    /**
     * Positions whose latent caches (float32, every layer) fit in this instance's heap, less what its hot pages may take
     * and a tenth for everything else: the weights are mapped off the heap, so the caches are what fills it.
     */
    private long kvCapacityPositions() {
        long hotBudget = pages != null ? pages.hotBudgetBytes() : 0;
        long bytesPerPosition = (long) config().numHiddenLayers() * config().latentWidth() * Float.BYTES;
        return Math.max(0, Runtime.getRuntime().maxMemory() * 9 / 10 - hotBudget) / bytesPerPosition;
    }

    private void refuseHeld(long sequenceId) throws StatusException {
        if (sequences.containsKey(sequenceId)) {
            throw Status.FAILED_PRECONDITION.withDescription("sequence " + Long.toUnsignedString(sequenceId)
                    + " is held here already: Admit starts a new sequence").asException();
        }
    }

    private void forgetLastChunks() {
        lastSpans = List.of();
        lastChunks = List.of();
    }

    /** The model's chunks for these spans, starting the sequences not held yet; the same list as the last call's when the spans are. */
    private List<StepChunk> chunksOf(List<ChunkSpan> spans) {
        if (spans.equals(lastSpans)) {
            return lastChunks;
        }
        List<StepChunk> chunks = new ArrayList<>(spans.size());
        for (ChunkSpan span : spans) {
            HeldSequence held = sequences.get(span.sequenceId());
            if (held == null) {
                held = HeldSequence.started(attention.newSequence());
                sequences.put(span.sequenceId(), held);
                started++;
            }
            chunks.add(new StepChunk(held.sequence(), span.start(), span.tokenIds(), false));
        }
        lastSpans = spans;
        lastChunks = List.copyOf(chunks);
        return lastChunks;
    }

    @Override
    public synchronized void close() {
        sequences.clear();
        try {
            if (pages != null) {
                pages.close();
            }
        } finally {
            workers.close();
            checkpoint.close();
        }
    }
}
