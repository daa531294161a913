package io.moefleet.trainer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.Rope;
import io.moefleet.model.weights.AttentionWeights;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.LayerWeights;
import io.moefleet.model.weights.MlpWeights;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.model.weights.MoeWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A DeepseekV3ForCausalLM model to train, its parameters under their checkpoint names: the engine's forward pass (the
 * same kernels in the same order, so its logits are the engine's bit for bit) keeping what the backward pass needs,
 * and the backward pass, over batches of whole sequences in float32. Tied embeddings are not supported (no preset
 * and no K2-family checkpoint ties them). Not thread-safe: one batch at a time, the workers parallelise inside it.
 */
public final class TrainingModel {

    private final ModelConfig config;
    private final List<Parameter> parameters = new ArrayList<>();
    private final Embedding embedding;
    private final DecoderLayer[] layers;
    private final Norm finalNorm;
    private final Projection lmHead;

    private int rows;
    private float[][] h = new float[0][];
    private float[][] finalNormed;
    private float[][] logits;
    private float[][] dLogits;
    private float[][] dh;
    private float[][] dFinalNormed;

    public TrainingModel(ModelConfig c, Workers workers) {
        if (c.tieWordEmbeddings()) {
            throw new IllegalArgumentException("tied word embeddings are not supported by the trainer");
        }
        this.config = c;
        MatMul matMul = new MatMul(workers);
        RopeAngles rope = new RopeAngles(new Rope(c), c.qkRopeHeadDim());
        int hidden = c.hiddenSize();
        embedding = new Embedding(add("model.embed_tokens.weight", Parameter.Kind.EMBEDDING, c.vocabSize(), hidden));
        layers = new DecoderLayer[c.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i + ".";
            Norm inputNorm = new Norm(add(p + "input_layernorm.weight", Parameter.Kind.NORM, 1, hidden), c.rmsNormEps());
            MlaBlock attention = attention(c, matMul, rope, p + "self_attn.");
            Norm postNorm = new Norm(add(p + "post_attention_layernorm.weight", Parameter.Kind.NORM, 1, hidden), c.rmsNormEps());
            if (c.isMoeLayer(i)) {
                FeedForward[] experts = new FeedForward[c.nRoutedExperts()];
                for (int e = 0; e < experts.length; e++) {
                    experts[e] = feedForward(matMul, p + "mlp.experts." + e + ".", c.moeIntermediateSize(), hidden);
                }
                FeedForward shared = c.nSharedExperts() == 0 ? null
                        : feedForward(matMul, p + "mlp.shared_experts.", c.sharedIntermediateSize(), hidden);
                Router router = new Router(c,
                        projection(matMul, p + "mlp.gate.weight", c.nRoutedExperts(), hidden),
                        add(p + "mlp.gate.e_score_correction_bias", Parameter.Kind.BIAS, 1, c.nRoutedExperts()));
                layers[i] = new DecoderLayer(inputNorm, attention, postNorm, null,
                        new MoeBlock(router, experts, shared, hidden, c.numExpertsPerTok()));
            } else {
                layers[i] = new DecoderLayer(inputNorm, attention, postNorm,
                        feedForward(matMul, p + "mlp.", c.intermediateSize(), hidden), null);
            }
        }
        finalNorm = new Norm(add("model.norm.weight", Parameter.Kind.NORM, 1, hidden), c.rmsNormEps());
        lmHead = new Projection(add("lm_head.weight", Parameter.Kind.HEAD, c.vocabSize(), hidden), matMul);
    }

    private MlaBlock attention(ModelConfig c, MatMul matMul, RopeAngles rope, String p) {
        int hidden = c.hiddenSize();
        int qRows = c.numAttentionHeads() * c.qkHeadDim();
        Projection qA = null;
        Norm qANorm = null;
        Projection qB;
        if (c.hasQLora()) {
            qA = projection(matMul, p + "q_a_proj.weight", c.qLoraRank(), hidden);
            qANorm = new Norm(add(p + "q_a_layernorm.weight", Parameter.Kind.NORM, 1, c.qLoraRank()), ModelConfig.LATENT_NORM_EPS);
            qB = projection(matMul, p + "q_b_proj.weight", qRows, c.qLoraRank());
        } else {
            qB = projection(matMul, p + "q_proj.weight", qRows, hidden);
        }
        Projection kvA = projection(matMul, p + "kv_a_proj_with_mqa.weight", c.latentWidth(), hidden);
        Norm kvANorm = new Norm(add(p + "kv_a_layernorm.weight", Parameter.Kind.NORM, 1, c.kvLoraRank()), ModelConfig.LATENT_NORM_EPS);
        Projection kvB = projection(matMul, p + "kv_b_proj.weight",
                c.numAttentionHeads() * (c.qkNopeHeadDim() + c.vHeadDim()), c.kvLoraRank());
        Projection o = projection(matMul, p + "o_proj.weight", hidden, c.numAttentionHeads() * c.vHeadDim());
        return new MlaBlock(c, matMul, rope, qA, qANorm, qB, kvA, kvANorm, kvB, o);
    }

    private FeedForward feedForward(MatMul matMul, String p, int width, int hidden) {
        return new FeedForward(projection(matMul, p + "gate_proj.weight", width, hidden),
                projection(matMul, p + "up_proj.weight", width, hidden),
                projection(matMul, p + "down_proj.weight", hidden, width));
    }

    private Projection projection(MatMul matMul, String name, int rows, int cols) {
        return new Projection(add(name, Parameter.Kind.MATRIX, rows, cols), matMul);
    }

    private Parameter add(String name, Parameter.Kind kind, int rows, int cols) {
        Parameter p = new Parameter(name, kind, rows, cols);
        parameters.add(p);
        return p;
    }

    public ModelConfig config() {
        return config;
    }

    /** Every parameter, in checkpoint order (embedding, layers, final norm, lm_head). */
    public List<Parameter> parameters() {
        return parameters;
    }

    public Parameter parameter(String name) {
        return parameters.stream().filter(p -> p.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no parameter " + name));
    }

    /** A model holding the weights of the checkpoint in {@code directory} (any stored format, dequantised). */
    public static TrainingModel fromCheckpoint(Path directory, Workers workers) {
        try (Checkpoint checkpoint = Checkpoint.open(directory)) {
            TrainingModel model = new TrainingModel(checkpoint.config(), workers);
            model.copyFrom(ModelWeights.load(checkpoint));
            return model;
        }
    }

    /**
     * Writes the weights as a checkpoint in the project's Hugging Face layout ({@link CheckpointWriter}), with
     * {@code config} (the config.json tree this model was made from) and the tokenizer files the writer makes.
     */
    public void save(ObjectNode config, WeightFormat format, Path directory) throws IOException {
        CheckpointWriter.write(config, name -> parameter(name).value(), format, directory);
    }

    /** The weights of a loaded checkpoint, dequantised to float32. */
    public void copyFrom(ModelWeights w) {
        embedding.table.copyFrom(w.embedding());
        for (int i = 0; i < layers.length; i++) {
            LayerWeights lw = w.layers()[i];
            DecoderLayer l = layers[i];
            l.inputNorm.weight.copyFrom(lw.inputNorm());
            l.postAttentionNorm.weight.copyFrom(lw.postAttentionNorm());
            AttentionWeights aw = lw.attention();
            MlaBlock a = l.attention;
            if (a.qA != null) {
                a.qA.weight.copyFrom(aw.qA());
                a.qANorm.weight.copyFrom(aw.qANorm());
                a.qB.weight.copyFrom(aw.qB());
            } else {
                a.qB.weight.copyFrom(aw.q());
            }
            a.kvA.weight.copyFrom(aw.kvA());
            a.kvANorm.weight.copyFrom(aw.kvANorm());
            a.kvB.weight.copyFrom(aw.kvB());
            a.o.weight.copyFrom(aw.o());
            if (l.dense != null) {
                copy(l.dense, lw.denseMlp());
            } else {
                MoeWeights mw = lw.moe();
                l.moe.router.gate.weight.copyFrom(mw.router());
                l.moe.router.bias.copyFrom(mw.correctionBias());
                for (int e = 0; e < l.moe.experts.length; e++) {
                    copy(l.moe.experts[e], mw.experts()[e]);
                }
                if (l.moe.shared != null) {
                    copy(l.moe.shared, mw.shared());
                }
            }
        }
        finalNorm.weight.copyFrom(w.finalNorm());
        lmHead.weight.copyFrom(w.lmHead());
    }

    private static void copy(FeedForward f, MlpWeights w) {
        f.gate.weight.copyFrom(w.gate());
        f.up.weight.copyFrom(w.up());
        f.down.weight.copyFrom(w.down());
    }

    /** The logits of every input position, rows in batch order (the model's own buffer: valid until the next call). */
    public float[][] forward(Batch batch) {
        int[] tokens = batch.flatInputs();
        SequenceRows seqs = SequenceRows.of(batch.inputs());
        int n = seqs.total();
        grow(n);
        embedding.forward(tokens, h);
        for (DecoderLayer layer : layers) {
            layer.forward(h, seqs);
        }
        finalNorm.forward(h, n, finalNormed);
        lmHead.forward(finalNormed, n, logits);
        return Arrays.copyOf(logits, n);
    }

    /** The mean cross-entropy over the scored targets, forward only (held-out evaluation: its expert load not counted). */
    public double loss(Batch batch) {
        List<long[]> loads = moeBlocks().stream().map(m -> m.load.clone()).toList();
        forward(batch);
        for (int i = 0; i < loads.size(); i++) {
            System.arraycopy(loads.get(i), 0, moeBlocks().get(i).load, 0, loads.get(i).length);
        }
        int n = SequenceRows.of(batch.inputs()).total();
        return CrossEntropy.lossAndGradient(Arrays.copyOf(logits, n), batch.flatTargets(), dLogits);
    }

    /** Forward, mean cross-entropy over the scored targets, backward: adds this batch's gradient to every parameter's. */
    public double lossAndGradient(Batch batch) {
        forward(batch);
        int n = SequenceRows.of(batch.inputs()).total();
        double loss = CrossEntropy.lossAndGradient(Arrays.copyOf(logits, n), batch.flatTargets(), dLogits);
        backward(batch, 1f);
        return loss;
    }

    /**
     * The backward pass of the last {@link #forward} from {@code dLogits} scaled by {@code weight}. Used directly by
     * the gradient checks, with an arbitrary gradient at the logits.
     */
    void backward(Batch batch, float weight) {
        SequenceRows seqs = SequenceRows.of(batch.inputs());
        int n = seqs.total();
        if (weight != 1f) {
            for (int t = 0; t < n; t++) {
                for (int i = 0; i < dLogits[t].length; i++) {
                    dLogits[t][i] *= weight;
                }
            }
        }
        for (int t = 0; t < n; t++) {
            Arrays.fill(dFinalNormed[t], 0f);
            Arrays.fill(dh[t], 0f);
        }
        lmHead.backward(finalNormed, dLogits, n, dFinalNormed);
        finalNorm.backward(h, dFinalNormed, n, dh);
        for (int i = layers.length - 1; i >= 0; i--) {
            layers[i].backward(dh, seqs);
        }
        embedding.backward(batch.flatInputs(), dh);
    }

    /** The gradient at the logits the next {@link #backward} starts from. */
    float[][] logitGradient() {
        return dLogits;
    }

    public void zeroGrad() {
        for (Parameter p : parameters) {
            p.zeroGrad();
        }
    }

    /** The attention of every layer: QK-Clip reads their max logits and scales their weights. */
    List<MlaBlock> attentionBlocks() {
        return Arrays.stream(layers).map(l -> l.attention).toList();
    }

    /** The mixture-of-experts blocks (routers and their load), in layer order. */
    List<MoeBlock> moeBlocks() {
        return Arrays.stream(layers).filter(l -> l.moe != null).map(l -> l.moe).toList();
    }

    /** Per layer, each head's largest scaled attention logit in the last forward pass. */
    public float[][] maxLogits() {
        return Arrays.stream(layers).map(l -> l.attention.maxLogits().clone()).toArray(float[][]::new);
    }

    private void grow(int n) {
        if (n <= rows) {
            return;
        }
        rows = n;
        int hidden = config.hiddenSize();
        h = new float[n][hidden];
        finalNormed = new float[n][hidden];
        logits = new float[n][config.vocabSize()];
        dLogits = new float[n][config.vocabSize()];
        dh = new float[n][hidden];
        dFinalNormed = new float[n][hidden];
    }
}
