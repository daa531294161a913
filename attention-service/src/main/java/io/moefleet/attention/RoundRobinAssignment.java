package io.moefleet.attention;

/** New sequences go to the instances in turn: 0, 1, ..., N-1, 0, ... */
public final class RoundRobinAssignment implements SequenceAssignment {

    private long assigned;

    @Override
    public int instanceFor(NewSequence sequence) {
        return (int) (assigned++ % sequence.instances());
    }
}
