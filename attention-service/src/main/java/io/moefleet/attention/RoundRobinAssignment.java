package io.moefleet.attention;

import io.moefleet.model.forward.StepChunk;

/** New sequences go to the instances in turn: 0, 1, ..., N-1, 0, ... */
public final class RoundRobinAssignment implements SequenceAssignment {

    private long assigned;

    @Override
    public int instanceFor(StepChunk first, int instances) {
        return (int) (assigned++ % instances);
    }
}
