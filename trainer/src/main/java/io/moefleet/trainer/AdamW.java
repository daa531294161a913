package io.moefleet.trainer;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter; PyTorch's form) for the embeddings, norms and lm_head, as Moonlight trains them beside
 * Muon: {@code m ← β1 m + (1−β1) g}, {@code v ← β2 v + (1−β2) g²}, bias-corrected, then
 * {@code w ← w(1 − ηλ) − η m̂ / (sqrt(v̂) + ε)}.
 */
public final class AdamW {

    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final Map<Parameter, State> states = new IdentityHashMap<>();

    /** Moments and the number of steps taken, per parameter. */
    public record State(float[] first, float[] second, int[] steps) {}

    public AdamW(double beta1, double beta2, double eps, double weightDecay) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    public void step(Parameter p, double lr) {
        float[] g = p.grad();
        State s = states.computeIfAbsent(p, q -> new State(new float[g.length], new float[g.length], new int[1]));
        int t = ++s.steps()[0];
        double correction1 = 1 - Math.pow(beta1, t);
        double correction2 = 1 - Math.pow(beta2, t);
        float[] w = p.value();
        for (int i = 0; i < w.length; i++) {
            s.first()[i] = (float) (beta1 * s.first()[i] + (1 - beta1) * g[i]);
            s.second()[i] = (float) (beta2 * s.second()[i] + (1 - beta2) * g[i] * g[i]);
            double update = (s.first()[i] / correction1) / (Math.sqrt(s.second()[i] / correction2) + eps);
            w[i] = (float) (w[i] * (1 - lr * weightDecay) - lr * update);
        }
    }

    void restore(Parameter p, State s) {
        if (s.first().length != p.value().length || s.second() == null || s.second().length != p.value().length) {
            throw new IllegalArgumentException(p.name() + ": AdamW moments of the wrong size");
        }
        states.put(p, new State(s.first().clone(), s.second().clone(), s.steps().clone()));
    }

    /** The state of {@code p} (null before its first step). */
    public State stateOf(Parameter p) {
        return states.get(p);
    }
}
