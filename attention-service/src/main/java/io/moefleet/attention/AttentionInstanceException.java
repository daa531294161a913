package io.moefleet.attention;

import java.util.Arrays;
import java.util.List;

/** Attention instances failed to answer (unreachable, too slow, or refusing the call); the message names each instance and its address. */
public final class AttentionInstanceException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int[] failedInstances;

    public AttentionInstanceException(String message, List<Integer> failedInstances) {
        super(message);
        this.failedInstances = failedInstances.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The indices of the instances that failed, ascending. */
    public List<Integer> failedInstances() {
        return Arrays.stream(failedInstances).boxed().toList();
    }
}
