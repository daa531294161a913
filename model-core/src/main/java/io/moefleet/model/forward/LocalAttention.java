package io.moefleet.model.forward;

import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.MatMul;
import io.moefleet.model.weights.AttentionWeights;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Attention computed here over each sequence's own {@link LatentCache}. An attention instance serves its sequences
 * with the same code. The chunks' RoPE angles are computed once per step and shared by all layers.
 */
public final class LocalAttention implements AttentionBackend {

    private final ModelConfig config;
    private final IntFunction<AttentionWeights> weightsOfLayer;
    private final Rope rope;
    private final MlaAttention attention;
    private List<StepChunk> anglesFor;
    private RopeTable[] angles;

    public LocalAttention(ModelConfig config, IntFunction<AttentionWeights> weightsOfLayer, MatMul matMul) {
        this.config = config;
        this.weightsOfLayer = weightsOfLayer;
        this.rope = new Rope(config);
        this.attention = new MlaAttention(config, matMul, rope);
    }

    @Override
    public Pending begin(int layer, List<StepChunk> chunks, float[][] normed, int total, float[][] out) {
        if (chunks != anglesFor) {
            angles = new RopeTable[chunks.size()];
            for (int i = 0; i < chunks.size(); i++) {
                StepChunk chunk = chunks.get(i);
                angles[i] = new RopeTable(rope, config.qkRopeHeadDim() / 2, chunk.start(), chunk.tokens().length);
            }
            anglesFor = chunks;
        }
        attention.forward(layer, weightsOfLayer.apply(layer), chunks, angles, normed, total, out);
        if (layer == config.numHiddenLayers() - 1) {
            for (StepChunk chunk : chunks) {
                chunk.sequence().setLength(chunk.end());     // an attention instance has no step loop to do it
            }
        }
        return Pending.DONE;
    }

    /** A sequence whose cache this backend keeps (an attention instance keeps one per sequence it serves). */
    public Sequence newSequence() {
        return new Sequence(config.numHiddenLayers(), config.latentWidth());
    }
}
