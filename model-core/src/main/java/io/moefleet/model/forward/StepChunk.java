package io.moefleet.model.forward;

/**
 * One sequence's part of a step: the tokens at positions {@code [start, start + tokens.length)}. A whole prompt starts
 * at 0, a prefill chunk at p > 0 over cached latents, a decode step is one token at {@code sequence.length()}.
 * A start below the sequence's length recomputes from there (the later latents are dropped).
 *
 * @param allLogits logits of every token of the chunk, or only of its last token (what sampling needs)
 */
public record StepChunk(Sequence sequence, int start, int[] tokens, boolean allLogits) {

    public static StepChunk next(Sequence sequence, int[] tokens, boolean allLogits) {
        return new StepChunk(sequence, sequence.length(), tokens, allLogits);
    }

    int end() {
        return start + tokens.length;
    }
}
