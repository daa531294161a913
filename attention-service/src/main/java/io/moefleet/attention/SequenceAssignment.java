package io.moefleet.attention;

import io.moefleet.model.forward.StepChunk;

/**
 * Which attention instance a new sequence goes to; it stays there until released. A policy of its own so that KV-aware
 * routing (the instance holding the longest cached prefix) can replace {@link RoundRobinAssignment}.
 */
@FunctionalInterface
public interface SequenceAssignment {

    /** The instance, in {@code [0, instances)}, for the sequence whose first chunk is {@code first}. */
    int instanceFor(StepChunk first, int instances);
}
