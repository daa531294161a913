package io.moefleet.model.forward;

import java.util.List;

/**
 * Where attention and the KV cache live: in this process ({@link LocalAttention}) or on attention instances across the
 * network. The step hands the backend one layer of the whole batch at once, so a remote backend makes one call per
 * attention instance per layer per step.
 */
public interface AttentionBackend {

    /**
     * Attends every chunk's tokens at {@code layer}: {@code normed[0 .. total)} are their normalised hidden states in
     * chunk order; their latents join their sequences' caches; {@code out} receives o_proj's output rows.
     */
    void attend(int layer, List<StepChunk> chunks, float[][] normed, int total, float[][] out);

    /** Frees what the backend holds for a finished or cancelled sequence. */
    default void release(Sequence sequence) {}
}
