package io.moefleet.model.forward;

import java.util.List;

/**
 * Where attention and the KV cache live: in this process ({@link LocalAttention}) or on attention instances across the
 * network. The step hands the backend one layer of the whole batch (or of one micro-batch) at once, so a remote backend
 * makes one call per attention instance per layer per micro-batch.
 */
public interface AttentionBackend {

    /** Called once at the start of every step with all its chunks, before any layer's call. */
    default void beginStep(List<StepChunk> chunks) {}

    /**
     * Attends every chunk's tokens at {@code layer}: {@code normed[0 .. total)} are their normalised hidden states in
     * chunk order; their latents join their sequences' caches; {@code out} receives o_proj's output rows.
     */
    default void attend(int layer, List<StepChunk> chunks, float[][] normed, int total, float[][] out) {
        begin(layer, chunks, normed, total, out).await();
    }

    /**
     * {@link #attend} in two halves: a remote backend sends its calls here and waits for them in
     * {@link Pending#await}, so the step can do other work meanwhile; {@code normed} and {@code out} stay the caller's
     * to leave alone until then. A backend computing in this process may do all the work here.
     */
    Pending begin(int layer, List<StepChunk> chunks, float[][] normed, int total, float[][] out);

    /** Frees what the backend holds for a finished or cancelled sequence. */
    default void release(Sequence sequence) {}

    /** An attend under way; {@link #await} is called once. */
    @FunctionalInterface
    interface Pending {
        Pending DONE = () -> { };

        /** Waits for the calls and writes the output rows. */
        void await();
    }
}
