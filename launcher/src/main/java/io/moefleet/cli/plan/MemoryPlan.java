package io.moefleet.cli.plan;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.model.ModelConfig;
import java.util.Locale;

/**
 * Where a model's memory goes on given hardware, per expert pod, and whether it fits.
 *
 * <p>The layout, as DeepSeek serves V3 and SGLang K2: every device runs attention data-parallel, so each holds all the
 * non-expert weights (attention, dense layers, shared experts, router gates, embeddings, lm_head) and the KV caches of
 * its own sequences; the routed experts are split over all pods (expert parallelism), one pod per GPU or per CPU node.
 * A pod holds {@code ceil(E / pods)} experts in every MoE layer, plus one redundant expert when its memory allows (one
 * per pod is what DeepSeek's EPLB and SGLang run: 32 redundant over EP32, 96 over K2's 96 decode GPUs); the slots left
 * by the rounding hold redundant experts too. Which experts get them is for load statistics to decide (EPLB).
 *
 * <p>KV cache: {@code layers x (kv_lora_rank + qk_rope_head_dim)} BF16 values per token (GPU engines' latent cache), for
 * {@code context} tokens per sequence; a sequence's cache stays on the device that runs its attention, so the busiest
 * pod holds {@code ceil(concurrency / pods)} sequences. Activations and workspace: an allowance of
 * {@value #ACTIVATION_PERCENT}% of the pod's weights (batch activations, dispatch buffers, allocator slack).
 */
public final class MemoryPlan {

    /** The activations and workspace allowance, as a share of a pod's weights. */
    public static final int ACTIVATION_PERCENT = 10;

    private static final long GIB = 1L << 30;

    private final ModelConfig config;
    private final WeightBytes weights;
    private final HardwareSpec hardware;
    private final int context;
    private final int concurrency;
    private final int expertsPerPod;
    private final PodMemory pod;

    private MemoryPlan(ModelConfig config, WeightBytes weights, HardwareSpec hardware, int context, int concurrency) {
        this.config = config;
        this.weights = weights;
        this.hardware = hardware;
        this.context = context;
        this.concurrency = concurrency;
        int experts = weights.routedExperts();
        int pods = hardware.pods();
        int base = experts == 0 ? 0 : (experts + pods - 1) / pods;
        // one redundant expert per pod when it fits (never more slots than experts: replicas sit on distinct pods)
        int withRedundant = Math.min(experts, base + 1);
        expertsPerPod = pods > 1 && podMemory(withRedundant).fits() ? withRedundant : base;
        pod = podMemory(expertsPerPod);
    }

    /**
     * @param context tokens per sequence, at most the model's {@code max_position_embeddings}
     * @param concurrency sequences held at once across the fleet
     */
    public static MemoryPlan of(ModelConfig config, WeightFormat format, HardwareSpec hardware, int context, int concurrency) {
        if (context < 1 || context > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("a context of " + context + " tokens is outside the model's 1.."
                    + config.maxPositionEmbeddings() + " (max_position_embeddings)");
        }
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be at least 1 sequence, got " + concurrency);
        }
        return new MemoryPlan(config, WeightBytes.of(config, format), hardware, context, concurrency);
    }

    /** One pod's memory: its weights, its sequences' KV, the activation allowance, against its capacity. */
    public record PodMemory(int experts, long routedExperts, long nonExpert, long kvCache, long activations, long capacity) {

        public long weights() {
            return routedExperts + nonExpert;
        }

        public long total() {
            return weights() + kvCache + activations;
        }

        /** Negative when the pod is short. */
        public long headroom() {
            return capacity - total();
        }

        public boolean fits() {
            return headroom() >= 0;
        }
    }

    private PodMemory podMemory(int experts) {
        return podMemory(experts, hardware.pods());
    }

    private PodMemory podMemory(int experts, int pods) {
        long routed = experts * weights.routedExpert();
        long sequences = ((long) concurrency + pods - 1) / pods;
        long kv = sequences * context * kvBytesPerToken();
        long activations = (routed + weights.nonExpert()) * ACTIVATION_PERCENT / 100;
        return new PodMemory(experts, routed, weights.nonExpert(), kv, activations, hardware.podBytes());
    }

    /** The latent cache of one token over every layer, BF16. */
    public long kvBytesPerToken() {
        return (long) config.numHiddenLayers() * config.latentWidth() * 2;
    }

    public boolean fits() {
        return pod.fits();
    }

    public int pods() {
        return hardware.pods();
    }

    /** Routed experts each pod holds in every MoE layer (its slots), redundant ones included. */
    public int expertsPerPod() {
        return expertsPerPod;
    }

    public int redundantExperts() {
        return pods() * expertsPerPod - weights.routedExperts();
    }

    public PodMemory pod() {
        return pod;
    }

    public WeightBytes weights() {
        return weights;
    }

    public HardwareSpec hardware() {
        return hardware;
    }

    public ModelConfig config() {
        return config;
    }

    /** E.g. "kimi_k2 (1,026.4B parameters) in fp8 at 131,072 tokens x 1 sequence". */
    public String describe() {
        return String.format(Locale.ROOT, "%s (%,.1fB parameters) in %s at %,d tokens x %d sequence%s",
                config.modelType().isEmpty() ? config.architecture() : config.modelType(), weights.parameters() / 1e9,
                format(), context, concurrency, concurrency == 1 ? "" : "s");
    }

    /** Why it does not fit, naming the shortfall per pod and in all, and what would fit. */
    public String shortfall() {
        long perPod = -pod.headroom();
        int pods = pods();
        String fleet = String.format(Locale.ROOT, "%s = %s GiB", hardware.describe(), gib(pods * hardware.podBytes()));
        return describe() + " needs " + gib(pods * pod.total()) + " GiB on " + pods + " pod" + (pods == 1 ? "" : "s")
                + " but " + fleet + ": each pod needs " + gib(pod.total()) + " GiB (" + breakdown(pod) + ") of its "
                + hardware.memoryGib() + " GiB: short by " + gib(perPod) + " GiB per pod, " + gib(pods * perPod)
                + " GiB in all; " + whatFits();
    }

    private String whatFits() {
        int experts = weights.routedExperts();
        // beyond one pod per expert and per sequence, more pods hold no less
        for (int pods = pods() + 1; pods <= Math.max(experts, concurrency); pods++) {
            if (podMemory(experts == 0 ? 0 : (experts + pods - 1) / pods, pods).fits()) {
                return pods + " " + hardware.device() + "s of " + hardware.memoryGib() + " GiB would fit";
            }
        }
        PodMemory least = podMemory(1, Integer.MAX_VALUE);
        return "no number of " + hardware.memoryGib() + " GiB " + hardware.device() + "s fits: the non-expert weights, one "
                + "sequence's KV cache and the activations need " + gib(least.total() - least.routedExperts()) + " GiB per pod";
    }

    private static String breakdown(PodMemory pod) {
        return pod.experts() + " routed experts " + gib(pod.routedExperts()) + " GiB, non-expert weights " + gib(pod.nonExpert())
                + " GiB, KV cache " + gib(pod.kvCache()) + " GiB, activations " + gib(pod.activations()) + " GiB";
    }

    /** The readable plan. */
    public String table() {
        StringBuilder t = new StringBuilder();
        WeightBytes w = weights;
        line(t, "%s%n", describe());
        line(t, "%s = %d expert pods (one per %s) of %d GiB, %s GiB in all%n%n", hardware.describe(), pods(),
                hardware.device(), hardware.memoryGib(), gib(pods() * hardware.podBytes()));
        line(t, "%-46s %10s%n", "weights", "GiB");
        row(t, "routed experts (" + w.routedExperts() + " x " + w.moeLayers() + " MoE layers)", w.routedTotal(),
                String.format(Locale.ROOT, "%.2f GiB per expert over its layers", w.routedExpert() / (double) GIB));
        row(t, "shared experts", w.sharedExperts(), "");
        row(t, "attention (MLA, norms; " + config.numHiddenLayers() + " layers)", w.attention(), "");
        row(t, "dense layers (" + (config.numHiddenLayers() - w.moeLayers()) + ")", w.denseLayers(), "");
        row(t, "router gates", w.routerGates(), "");
        row(t, "embeddings", w.embeddings(), "");
        row(t, "lm_head, final norm", w.lmHead(), "");
        row(t, "total", w.total(), String.format(Locale.ROOT, "%,d bytes", w.total()));
        t.append(System.lineSeparator());
        line(t, "placement: %d routed experts over %d pods, %d per pod (%d redundant in all)%n", w.routedExperts(), pods(),
                expertsPerPod, redundantExperts());
        line(t, "  rule: ceil(experts / pods) each, plus one redundant expert per pod when its memory allows%n%n");
        line(t, "%-46s %10s%n", "per pod", "GiB");
        row(t, String.format(Locale.ROOT, "routed experts (%d x %.2f GiB)", expertsPerPod, w.routedExpert() / (double) GIB),
                pod.routedExperts(), "");
        row(t, "non-expert weights", pod.nonExpert(), "on every pod: data-parallel attention");
        int sequences = (int) (((long) concurrency + pods() - 1) / pods());
        row(t, String.format(Locale.ROOT, "KV cache (%d sequence%s x %,d tokens)", sequences, sequences == 1 ? "" : "s", context),
                pod.kvCache(), String.format(Locale.ROOT, "%,d bytes per token (BF16 latents)", kvBytesPerToken()));
        row(t, "activations, workspace (" + ACTIVATION_PERCENT + "% of weights)", pod.activations(), "");
        row(t, "total", pod.total(), String.format(Locale.ROOT, "of %d GiB: %s GiB headroom (%.0f%%)", hardware.memoryGib(),
                gib(pod.headroom()), 100.0 * pod.headroom() / pod.capacity()));
        return t.toString();
    }

    /** The plan as one JSON object (bytes unless a name says otherwise). */
    public String json() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ObjectNode model = root.putObject("model");
        model.put("model_type", config.modelType());
        model.put("parameters", weights.parameters());
        model.put("dtype", format());
        ObjectNode hw = root.putObject("hardware");
        hw.put("mode", hardware.gpu() ? "gpu" : "cpu");
        hw.put("nodes", hardware.nodes());
        hw.put("devices_per_node", hardware.devicesPerNode());
        hw.put("memory_gib", hardware.memoryGib());
        root.put("context", context);
        root.put("concurrency", concurrency);
        ObjectNode w = root.putObject("weights");
        w.put("routed_expert_per_layer", weights.routedExpertPerLayer());
        w.put("routed_expert", weights.routedExpert());
        w.put("routed_experts", weights.routedTotal());
        w.put("shared_experts", weights.sharedExperts());
        w.put("attention", weights.attention());
        w.put("dense_layers", weights.denseLayers());
        w.put("router_gates", weights.routerGates());
        w.put("embeddings", weights.embeddings());
        w.put("lm_head", weights.lmHead());
        w.put("non_expert", weights.nonExpert());
        w.put("total", weights.total());
        root.put("kv_bytes_per_token", kvBytesPerToken());
        ObjectNode placement = root.putObject("placement");
        placement.put("pods", pods());
        placement.put("experts_per_pod", expertsPerPod);
        placement.put("redundant_experts", redundantExperts());
        ObjectNode perPod = root.putObject("per_pod");
        perPod.put("routed_experts", pod.routedExperts());
        perPod.put("non_expert", pod.nonExpert());
        perPod.put("kv_cache", pod.kvCache());
        perPod.put("activations", pod.activations());
        perPod.put("total", pod.total());
        perPod.put("capacity", pod.capacity());
        perPod.put("headroom", pod.headroom());
        root.put("fits", fits());
        return root.toString();
    }

    private String format() {
        return weights.format().name().toLowerCase(Locale.ROOT);
    }

    private static void line(StringBuilder t, String format, Object... args) {
        t.append(String.format(Locale.ROOT, format, args));
    }

    private static void row(StringBuilder t, String label, long bytes, String note) {
        line(t, "  %-44s %10s%s%n", label, gib(bytes), note.isEmpty() ? "" : "   " + note);
    }

    /** Bytes in GiB, one decimal, thousands separated. */
    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%,.1f", bytes / (double) GIB);
    }
}
