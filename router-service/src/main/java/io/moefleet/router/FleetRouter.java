package io.moefleet.router;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.moefleet.attention.InstanceStats;
import io.moefleet.attention.RemoteAttention;
import io.moefleet.attention.LongestPrefixAssignment;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.expert.RemoteExperts;
import io.moefleet.expert.ShardStats;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.sampling.SamplingParams;
import io.moefleet.sampling.SequenceSampler;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * The router side of a running fleet: embeddings, gates, shared experts and {@code lm_head}
 * here, attention on the fleet's attention instances, routed experts on its shards. Its greedy loop is
 * {@code Engine.generate}'s, so the ids are the engine's. Every step it runs is traced ({@link StepTracer}), every
 * layer's attention and expert calls too ({@link TracedAttention}, {@link TracedExperts}), and their wall times and
 * bytes are recorded ({@link #attentionCalls()}, {@link #expertCalls()}).
 */
public final class FleetRouter implements AutoCloseable {

    /** Per RPC (one layer's call): generous, as a large prompt's prefill is one call per layer. */
    private static final Duration CALL_DEADLINE = Duration.ofSeconds(60);
    /**
     * Two: one micro-batch's calls overlap the other's work (see {@link Transformer#step}), for services on cores of
     * their own; a fleet whose services share the router's machine runs whole steps (its serving stack sets 1).
     */
    public static final int DEFAULT_MICRO_BATCHES = 2;
    /**
     * The stepping thread spins this long for an answer before parking, which spares it a wake-up (tens of microseconds
     * on an idle core) when the answer comes within it. On 2 cores shared with the services, 100 and 0 are within noise
     * of each other at batch 1, 8 and 32 once measured in mirrored order (README, "The fleet beside the engine").
     */
    public static final Duration DEFAULT_SPIN = Duration.ofNanos(100_000);

    private final Checkpoint checkpoint;
    private final Workers workers;
    private final RemoteAttention attention;
    private final ShardSet shards;
    private final ExpertLoad load;
    private final FleetMetrics metrics;
    private final java.util.function.Function<FleetEndpoints, RemoteExperts> openShards;
    private final List<String> attentionAddresses;
    private FleetConfigWatch watch;
    private final Transformer transformer;
    private final StepTracer steps;
    private final AttentionFailover failover;
    private final LayerCallRecorder attentionCalls;
    private final LayerCallRecorder expertCalls;

    private FleetRouter(Checkpoint checkpoint, Workers workers, RemoteAttention attention, ShardSet shards, ExpertLoad load,
            FleetMetrics metrics, java.util.function.Function<FleetEndpoints, RemoteExperts> openShards, Transformer transformer,
            StepTracer steps,
            LayerCallRecorder attentionCalls, LayerCallRecorder expertCalls, List<String> attentionAddresses,
            OpenTelemetry openTelemetry) {
        this.attentionAddresses = List.copyOf(attentionAddresses);
        this.checkpoint = checkpoint;
        this.workers = workers;
        this.attention = attention;
        this.shards = shards;
        this.load = load;
        this.metrics = metrics;
        this.openShards = openShards;
        this.transformer = transformer;
        this.steps = steps;
        this.failover = new AttentionFailover(transformer, steps, attention, metrics, openTelemetry);
        this.attentionCalls = attentionCalls;
        this.expertCalls = expertCalls;
    }

    /**
     * Opens the router over a running fleet's services, the checkpoint's router-side weights loaded here; its spans
     * and the gRPC client spans under them go to {@code openTelemetry}, whose sampler decides for the whole trace (the
     * services follow the sampled flag of the W3C context the calls carry).
     */
    public static FleetRouter open(FleetEndpoints fleet, Path model, int threads, ModelWeights.LoadProgress progress,
            OpenTelemetry openTelemetry) {
        return open(fleet, model, threads, progress, openTelemetry, InsecureChannelCredentials.create());
    }

    /** As above, connecting to the services with {@code credentials} (mutual TLS: {@link io.moefleet.rpc.TlsFiles}). */
    public static FleetRouter open(FleetEndpoints fleet, Path model, int threads, ModelWeights.LoadProgress progress,
            OpenTelemetry openTelemetry, ChannelCredentials credentials) {
        Checkpoint checkpoint = Checkpoint.open(model);
        Workers workers = new Workers(threads);
        RemoteAttention attention = null;
        ShardSet shards = null;
        try {
            attention = new RemoteAttention(checkpoint.config(), fleet.attentionAddresses(), new LongestPrefixAssignment(),
                    CALL_DEADLINE, openTelemetry, credentials);
            ModelConfig config = checkpoint.config();
            java.util.function.Function<FleetEndpoints, RemoteExperts> openShards = endpoints -> new RemoteExperts(config,
                    endpoints.placement(), endpoints.expertAddresses(), CALL_DEADLINE, openTelemetry, credentials);
            shards = new ShardSet(openShards.apply(fleet), fleet.placement(), fleet.expertAddresses());
            ExpertLoad load = new ExpertLoad(config.numHiddenLayers(), config.nRoutedExperts(), config::isMoeLayer);
            FleetMetrics metrics = new FleetMetrics(load, attention, shards);
            LayerCallRecorder attentionCalls = new LayerCallRecorder();
            LayerCallRecorder expertCalls = new LayerCallRecorder();
            // attention and routed experts run on the services: their tensors stay in the file, unread here
            ModelWeights weights = ModelWeights.load(checkpoint, progress,
                    name -> !name.contains(".self_attn.") && !name.contains(".mlp.experts."));
            Transformer transformer = new Transformer(config, weights, workers,
                    new TracedAttention(attention, openTelemetry, attentionCalls),
                    new TracedExperts(shards, openTelemetry, expertCalls, metrics));
            transformer.setMicroBatches(DEFAULT_MICRO_BATCHES);
            FleetRouter router = new FleetRouter(checkpoint, workers, attention, shards, load, metrics, openShards, transformer,
                    new StepTracer(openTelemetry), attentionCalls, expertCalls, fleet.attentionAddresses(), openTelemetry);
            router.spinBeforeParking(DEFAULT_SPIN);
            return router;
        } catch (RuntimeException e) {
            if (shards != null) {
                shards.close();
            }
            if (attention != null) {
                attention.close();
            }
            workers.close();
            checkpoint.close();
            throw e;
        }
    }

    /**
     * Waits until every attention instance and expert shard answers its health check SERVING, each within
     * {@code timeout}; throws naming those that do not (a router started beside its fleet, as on Kubernetes, waits
     * for the services to load their weights).
     */
    public void awaitServing(Duration timeout) {
        attention.awaitServing(timeout);
        shards.current().experts().awaitServing(timeout);
    }

    /**
     * From now on follows {@code folder} (the files {@link FleetEndpoints#read} reads) and switches to a new expert
     * placement once its shards hold their parts ({@link FleetConfigWatch}).
     */
    public synchronized void watch(Path folder) {
        if (watch != null) {
            throw new IllegalStateException("already watching a fleet configuration");
        }
        watch = watcher(folder).start();
    }

    /** A watch of {@code folder} over this router's shards, not started (tests look at the folder themselves). */
    FleetConfigWatch watcher(Path folder) {
        return new FleetConfigWatch(folder, shards, attention, attentionAddresses, openShards);
    }

    /**
     * From now on an expert call still unanswered after the {@code percentile}-th percentile of recent calls' times goes
     * to a replica too, the first answer winning (bitwise alike); 0 turns it off (the default).
     */
    /**
     * The stepping thread spins up to {@code spin} for each attention and expert answer before it parks (see
     * {@link io.moefleet.rpc.AnswerWait}): worth it only where the router has a core of its own; zero parks at once.
     */
    public void spinBeforeParking(Duration spin) {
        attention.spinBeforeParking(spin);
        shards.spinBeforeParking(spin);
    }

    public void hedgeExpertCalls(double percentile) {
        shards.hedgeAfter(percentile);
    }

    /** The expert shards layers go to now. */
    ShardSet shards() {
        return shards;
    }

    /** The fleet's metrics (expert load, per-shard call times, KV) on {@code /metrics} from now on. */
    public void registerMetrics(io.prometheus.metrics.model.registry.PrometheusRegistry registry) {
        metrics.register(registry);
    }

    /** Tokens sent to each routed expert of each MoE layer since the router started. */
    public ExpertLoad expertLoad() {
        return load;
    }

    /**
     * The fleet as the controller reads it ({@code GET /v1/fleet/state}): the placement the router routes by, each
     * expert shard's address, whether it answers, and the experts it holds, the tokens each expert got, and each
     * attention instance's sequences, whether it takes new ones, and its cached positions against those that fit.
     * Blocks on the shards' and instances' Stats calls.
     */
    public String stateJson() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode state = json.createObjectNode();
        state.put("mode", "fleet");
        ShardSet.Current current = shards.current();
        try {
            state.set("placement", json.readTree(current.placement().toJson()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("a placement's own JSON does not parse", e);
        }
        // each shard in shard order, "serving" whether its Stats call answered: the shards are asked in order and the
        // first failure ends the round, so those after it are unknown (null); a shard that did not answer shows the
        // experts the placement gives it ("holds_from": "placement") instead of those it reports mapped
        ArrayNode experts = state.putArray("experts");
        List<ShardStats> answered = List.of();
        List<Integer> failed = List.of();   // the shards named failing; empty with an error: none known to be up
        try {
            answered = current.experts().stats();
        } catch (io.moefleet.expert.ExpertShardException e) {
            failed = e.failedShards();
            state.put("experts_error", e.getMessage());
        } catch (RuntimeException e) {
            state.put("experts_error", e.getMessage());
        }
        int firstFailed = failed.isEmpty() ? 0 : java.util.Collections.min(failed);
        for (ShardStats stats : answered) {
            ObjectNode shard = experts.addObject();
            shard.put("shard", stats.shard());
            shard.put("address", stats.address());
            shard.put("serving", true);
            shard.put("calls", stats.calls());
            ObjectNode holds = shard.putObject("holds");
            for (ShardStats.ExpertTokens expert : stats.experts()) {
                ArrayNode layer = holds.has(Integer.toString(expert.layer())) ? (ArrayNode) holds.get(Integer.toString(expert.layer()))
                        : holds.putArray(Integer.toString(expert.layer()));
                layer.add(expert.expert());
            }
        }
        if (answered.isEmpty()) {
            ModelConfig config = transformer.config();
            for (int s = 0; s < current.placement().shards(); s++) {
                ObjectNode shard = experts.addObject();
                shard.put("shard", s);
                shard.put("address", s < current.addresses().size() ? current.addresses().get(s) : "");
                if (s < firstFailed) {
                    shard.put("serving", true);
                } else if (failed.contains(s)) {
                    shard.put("serving", false);
                } else {
                    shard.putNull("serving");
                }
                shard.put("holds_from", "placement");
                ObjectNode holds = shard.putObject("holds");
                for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
                    if (config.isMoeLayer(layer)) {
                        ArrayNode held = holds.putArray(Integer.toString(layer));
                        for (int expert : current.placement().expertsOf(s, layer)) {
                            held.add(expert);
                        }
                    }
                }
            }
        }
        ObjectNode load = state.putObject("expert_load");
        this.load.snapshot().forEach((layer, tokens) -> {
            ArrayNode counts = load.putArray(Integer.toString(layer));
            for (long count : tokens) {
                counts.add(count);
            }
        });
        java.util.Map<String, InstanceStats> memory = new java.util.HashMap<>();
        try {
            for (InstanceStats stats : attention.stats()) {
                memory.put(stats.address(), stats);
            }
        } catch (RuntimeException e) {
            state.put("attention_error", e.getMessage());
        }
        ArrayNode instances = state.putArray("attention");
        for (RemoteAttention.Occupancy instance : attention.occupancy()) {
            ObjectNode node = instances.addObject().put("address", instance.address()).put("accepting", instance.accepting())
                    .put("down", instance.down()).put("sequences", instance.sequences());
            InstanceStats stats = memory.get(instance.address());
            if (stats != null) {
                node.put("cached_positions", stats.cachedPositions()).put("kv_capacity_positions", stats.kvCapacityPositions());
            }
        }
        return state.toString();
    }

    /**
     * Whether the fleet can serve a request now: an attention instance that takes sequences answers its health check
     * SERVING, and every routed expert has a shard that does (a shard or an instance down is no outage while others
     * take its work). Each check waits at most a second; blocks: call it off the event loop.
     */
    public boolean serving() {
        return attention.anyServing(Duration.ofSeconds(1)) && shards.current().experts().everyExpertServed(Duration.ofSeconds(1));
    }

    /** The model whose steps run through the fleet; run them through {@link #step} (traced, failing over). */
    public Transformer transformer() {
        return transformer;
    }

    /**
     * The step loop's entry point, one step at a time: {@code transformer().step(chunks)}, traced, its sequences moved
     * to another attention instance when theirs fails ({@link AttentionFailover}).
     */
    public List<float[][]> step(List<StepChunk> chunks) {
        return failover.step(chunks);
    }

    /** Each layer's attention call: wall time, and the hidden-state rows sent and received. */
    public LayerCallRecorder attentionCalls() {
        return attentionCalls;
    }

    /** Each MoE layer's dispatch and combine over the expert shards: wall time, and message bytes both ways. */
    public LayerCallRecorder expertCalls() {
        return expertCalls;
    }

    /**
     * Places a new sequence on the attention instance holding the longest run of its prompt's pages and restores that
     * run there (hot pages, then the KV pool).
     *
     * @return how many leading prompt tokens are cached (always fewer than the prompt's, so the step from there gives
     *     the last token's logits bitwise as a full prefill would); the sequence's length is then that many
     */
    public int admit(Sequence sequence, int[] prompt) {
        return attention.admit(sequence, prompt);
    }

    /** Exactly {@code count} greedy tokens after {@code prompt}; end-of-sequence ids do not stop it. */
    public int[] greedy(int[] prompt, int count) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        Sequence sequence = transformer.newSequence();
        try {
            SequenceSampler sampler = new SequenceSampler(SamplingParams.greedy(), prompt, transformer.config().vocabSize());
            int cached = admit(sequence, prompt);
            int[] uncached = Arrays.copyOfRange(prompt, cached, prompt.length);
            float[] last = step(List.of(StepChunk.next(sequence, uncached, false))).getFirst()[0];
            for (int i = 0; i < count; i++) {
                int token = sampler.next(last);
                if (i + 1 < count) {
                    last = step(List.of(StepChunk.next(sequence, new int[] {token}, false))).getFirst()[0];
                }
            }
            return sampler.generated();
        } finally {
            transformer.release(sequence);
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (watch != null) {
                watch.close();
            }
        }
        metrics.close();
        shards.close();
        attention.close();
        workers.close();
        checkpoint.close();
    }
}
