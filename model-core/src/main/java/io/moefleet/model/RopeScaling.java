package io.moefleet.model;

/**
 * YaRN rope scaling as Hugging Face's {@code _compute_yarn_parameters} reads it from {@code rope_scaling}.
 * Optional keys take HF's defaults; {@code attentionFactor} is NaN when the config leaves it to be derived.
 */
public record RopeScaling(
        double factor,
        int originalMaxPositionEmbeddings,
        double betaFast,
        double betaSlow,
        double mscale,
        double mscaleAllDim,
        double attentionFactor,
        boolean truncate) {

    /** DeepSeek's {@code yarn_get_mscale}: 0.1 * m * ln(scale) + 1 for scale > 1. */
    public static double yarnMscale(double scale, double m) {
        return scale <= 1 ? 1.0 : 0.1 * m * Math.log(scale) + 1.0;
    }

    /** The cos/sin magnitude (HF {@code attention_factor}). */
    public double cosSinFactor() {
        if (!Double.isNaN(attentionFactor)) {
            return attentionFactor;
        }
        if (mscale != 0 && mscaleAllDim != 0) {
            return yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim);
        }
        return yarnMscale(factor, 1.0);
    }

    /** The factor DeepseekV3Attention multiplies its softmax scale by (twice): mscale(factor, mscale_all_dim), or 1 when that key is 0. */
    public double softmaxMscale() {
        return mscaleAllDim != 0 ? yarnMscale(factor, mscaleAllDim) : 1.0;
    }
}
