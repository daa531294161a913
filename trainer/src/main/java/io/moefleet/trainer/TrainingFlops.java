package io.moefleet.trainer;

import io.moefleet.model.ModelConfig;

/**
 * The floating-point work of training, counted from the model's shapes (a multiply-add is two operations): per token,
 * the forward pass's products (every matrix a token goes through: a routed expert's share is top-k over the experts)
 * and its attention scores and weighted values, times three for forward and backward; per step, Muon's Newton–Schulz
 * iterations on every matrix. Norms, softmax and the optimiser's element-wise work are left out (small beside these).
 */
public final class TrainingFlops {

    private TrainingFlops() {}

    /** Operations per training token with sequences of {@code length} tokens. */
    public static double perToken(TrainingModel model, int length) {
        ModelConfig c = model.config();
        double expertShare = (double) c.numExpertsPerTok() / c.nRoutedExperts();
        double multiplyAdds = 0;
        for (Parameter p : model.parameters()) {
            if (p.kind() == Parameter.Kind.MATRIX || p.kind() == Parameter.Kind.HEAD) {
                multiplyAdds += (double) p.rows() * p.cols() * (p.name().contains(".mlp.experts.") ? expertShare : 1);
            }
        }
        double visible = (length + 1) / 2.0;   // keys a query sees on average under the causal mask
        int qk = c.qkNopeHeadDim() + c.qkRopeHeadDim();
        multiplyAdds += c.numHiddenLayers() * c.numAttentionHeads() * visible * (qk + c.vHeadDim());
        return 3 * 2 * multiplyAdds;
    }

    /** Operations of one step's Newton–Schulz iterations over every Muon matrix. */
    public static double newtonSchulzPerStep(TrainingModel model) {
        double multiplyAdds = 0;
        for (Parameter p : model.parameters()) {
            if (p.kind() == Parameter.Kind.MATRIX) {
                double m = Math.min(p.rows(), p.cols());
                double k = Math.max(p.rows(), p.cols());
                multiplyAdds += NewtonSchulz.STEPS * (2 * m * m * k + m * m * m);
            }
        }
        return 2 * multiplyAdds;
    }
}
