package io.moefleet.router.scheduler;

import io.moefleet.model.forward.Sequence;

/**
 * What happens when a sequence enters the running batch, before its prompt is prefilled: in the fleet, the choice of
 * its attention instance and the restoring of a cached prefix from the KV pool.
 */
@FunctionalInterface
public interface SequenceAdmission {

    /** Nothing cached: every prompt token is prefilled. */
    SequenceAdmission NONE = (sequence, prompt) -> 0;

    /**
     * Admits {@code sequence} with {@code prompt}.
     *
     * @return how many leading prompt tokens are already in the sequence's cache (less than the prompt's length, so
     *     that at least its last token is computed and gives logits); the sequence's length is then that many
     */
    int admit(Sequence sequence, int[] prompt);
}
