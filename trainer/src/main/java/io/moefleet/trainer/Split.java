package io.moefleet.trainer;

import io.moefleet.model.compute.Workers;

/** Splits a range over the workers only when it is worth a hand-off (as model-core's MatMul decides for products). */
final class Split {

    /** Below this many multiply-adds a hand-off to other threads costs more than it saves. */
    static final long PARALLEL_THRESHOLD = 1 << 15;

    private Split() {}

    static void range(Workers workers, int n, long multiplyAdds, Workers.RangeTask task) {
        if (multiplyAdds < PARALLEL_THRESHOLD) {
            task.run(0, n);
        } else {
            workers.parallelFor(n, task);
        }
    }
}
