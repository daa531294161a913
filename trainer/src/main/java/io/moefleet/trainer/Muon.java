package io.moefleet.trainer;

import io.moefleet.model.compute.Workers;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Muon for 2-D weight matrices, as Moonlight's implementation and the K2 report put it: momentum with Nesterov
 * ({@code M ← μM + G}, direction {@code G + μM}), {@link NewtonSchulz} orthogonalisation, the update scaled by
 * {@code 0.2·sqrt(max(n, m))} so its RMS matches AdamW's (one learning rate serves both), decoupled weight decay
 * {@code W ← W(1 − ηλ) − η·0.2·sqrt(max(n, m))·O}.
 */
public final class Muon {

    public static final double RMS_MATCH = 0.2;

    private final double momentum;
    private final double weightDecay;
    private final Workers workers;
    private final Map<Parameter, float[]> buffers = new IdentityHashMap<>();

    public Muon(double momentum, double weightDecay, Workers workers) {
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        this.workers = workers;
    }

    /** One update of {@code p} from its gradient with learning rate {@code lr}. */
    public void step(Parameter p, double lr) {
        float[] g = p.grad();
        float[] m = buffers.computeIfAbsent(p, q -> new float[g.length]);
        float[] direction = new float[g.length];
        for (int i = 0; i < g.length; i++) {
            m[i] = (float) (momentum * m[i] + g[i]);
            direction[i] = (float) (g[i] + momentum * m[i]);
        }
        float[] o = NewtonSchulz.orthogonalise(direction, p.rows(), p.cols(), workers);
        double scaled = lr * RMS_MATCH * Math.sqrt(Math.max(p.rows(), p.cols()));
        float[] w = p.value();
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (w[i] * (1 - lr * weightDecay) - scaled * o[i]);
        }
    }

    void restore(Parameter p, float[] momentum) {
        if (momentum.length != p.value().length) {
            throw new IllegalArgumentException(p.name() + ": momentum of " + momentum.length + " values");
        }
        buffers.put(p, momentum.clone());
    }

    /** The momentum of {@code p} (null before its first step): optimiser state to save and restore. */
    public float[] momentumOf(Parameter p) {
        return buffers.get(p);
    }
}
