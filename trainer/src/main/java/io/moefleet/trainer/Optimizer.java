package io.moefleet.trainer;

import io.moefleet.model.compute.Workers;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One optimiser step over a whole model, by parameter kind: hidden matrices by Muon (or AdamW for the AdamW baseline),
 * embeddings, norms and lm_head by AdamW, as Moonlight splits them (its router gate, a 2-D matrix, goes to Muon too);
 * then the load balancer moves the routers' correction biases; then, for MuonClip, QK-Clip from the step's max logits.
 */
public final class Optimizer {

    /** The three methods the issue compares. */
    public enum Method { MUONCLIP, MUON, ADAMW }

    /**
     * @param momentum Muon's (0.95); {@code beta1}, {@code beta2}, {@code eps}: AdamW's (Moonlight: 0.9, 0.95, 1e-8)
     * @param balanceSpeed the bias update speed of the load balancer (DeepSeek-V3: 0.001)
     * @param tau QK-Clip's threshold (K2: 100)
     */
    public record Settings(Method method, double weightDecay, double momentum, double beta1, double beta2, double eps,
            double balanceSpeed, double tau) {

        public static Settings defaults(Method method) {
            return new Settings(method, 0.1, 0.95, 0.9, 0.95, 1e-8, 1e-3, 100);
        }
    }

    private final Settings settings;
    private final Muon muon;
    private final AdamW adamW;
    private final LoadBalancer balancer;
    private final QkClip clip;

    public Optimizer(TrainingModel model, Settings settings, Workers workers) {
        this.settings = settings;
        this.muon = new Muon(settings.momentum(), settings.weightDecay(), workers);
        this.adamW = new AdamW(settings.beta1(), settings.beta2(), settings.eps(), settings.weightDecay());
        this.balancer = new LoadBalancer(settings.balanceSpeed());
        this.clip = settings.method() == Method.MUONCLIP ? new QkClip(model.config(), settings.tau()) : null;
    }

    public Method method() {
        return settings.method();
    }

    /** Every moment and momentum, as named vectors ({@code kind/parameter name}): what resuming needs. */
    Map<String, float[]> state(TrainingModel model) {
        Map<String, float[]> state = new LinkedHashMap<>();
        for (Parameter p : model.parameters()) {
            float[] momentum = muon.momentumOf(p);
            if (momentum != null) {
                state.put("muon.momentum/" + p.name(), momentum);
            }
            AdamW.State s = adamW.stateOf(p);
            if (s != null) {
                state.put("adamw.first/" + p.name(), s.first());
                state.put("adamw.second/" + p.name(), s.second());
                state.put("adamw.steps/" + p.name(), new float[] {s.steps()[0]});
            }
        }
        return state;
    }

    void restore(TrainingModel model, Map<String, float[]> state) {
        for (Parameter p : model.parameters()) {
            float[] momentum = state.get("muon.momentum/" + p.name());
            if (momentum != null) {
                muon.restore(p, momentum);
            }
            float[] first = state.get("adamw.first/" + p.name());
            if (first != null) {
                adamW.restore(p, new AdamW.State(first, state.get("adamw.second/" + p.name()),
                        new int[] {(int) state.get("adamw.steps/" + p.name())[0]}));
            }
        }
    }

    /**
     * Updates every parameter from its gradient at learning rate {@code lr}; {@code maxLogits[layer][head]} are the
     * largest scaled logits of the step's forward passes. Returns the number of heads QK-Clip scaled.
     */
    public int step(TrainingModel model, double lr, float[][] maxLogits) {
        for (Parameter p : model.parameters()) {
            switch (p.kind()) {
                case MATRIX -> {
                    if (settings.method() == Method.ADAMW) {
                        adamW.step(p, lr);
                    } else {
                        muon.step(p, lr);
                    }
                }
                case EMBEDDING, HEAD, NORM -> adamW.step(p, lr);
                case BIAS -> { }
            }
        }
        balancer.step(model);
        return clip == null ? 0 : clip.apply(model, maxLogits);
    }
}
