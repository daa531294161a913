package io.moefleet.trainer;

/**
 * DeepSeek-V3's auxiliary-loss-free load balancing: after each step every expert's correction bias moves by a fixed
 * {@code speed} toward even load, {@code b_e ← b_e + speed · sign(mean load − load_e)}: an overloaded expert becomes
 * less likely to be chosen, an idle one more. The bias changes only the choice, never the combine weights.
 */
public final class LoadBalancer {

    private final double speed;

    public LoadBalancer(double speed) {
        this.speed = speed;
    }

    /** Nudges {@code bias} by the tokens each expert took ({@code load}, then cleared). */
    public void step(float[] bias, long[] load) {
        double mean = 0;
        for (long l : load) {
            mean += l;
        }
        mean /= load.length;
        for (int e = 0; e < load.length; e++) {
            bias[e] += (float) (speed * Math.signum(mean - load[e]));
            load[e] = 0;
        }
    }

    /** Every MoE layer of {@code model}, from the loads counted since the last step. */
    public void step(TrainingModel model) {
        for (MoeBlock moe : model.moeBlocks()) {
            step(moe.router.bias.value(), moe.load);
        }
    }
}
