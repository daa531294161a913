package io.moefleet.router;

import io.moefleet.attention.InstancePageStats;
import io.moefleet.attention.InstanceStats;
import io.moefleet.attention.RemoteAttention;
import io.moefleet.model.forward.Routing;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The fleet's metrics as the router sees them, for {@code /metrics}: the load on each MoE layer's experts (one histogram
 * per layer of the tokens each expert got: bounded by the layers, not one series per expert per shard), each expert
 * shard's dispatch-and-combine latency, and the attention instances' KV caches and pages. The expert load and KV
 * figures are read when scraped (the KV ones from the instances' Stats, polled in the background so that a scrape
 * never waits on the fleet); only the per-shard latency is recorded on the step's path.
 */
public final class FleetMetrics implements AutoCloseable {

    /** Tokens per expert: powers of two, then the rest. */
    private static final double[] TOKEN_BOUNDS = tokenBounds();
    private static final double[] LATENCY_BOUNDS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            0.5, 1, 2.5, 5, 10, 30, 60};
    static final java.time.Duration KV_POLL = java.time.Duration.ofSeconds(5);

    private final ExpertLoad load;
    private final RemoteAttention attention;
    private final ShardSet shards;
    private final Histogram expertCallSeconds;
    private final Counter sequencesMoved = Counter.builder().name("moefleet_attention_sequences_moved")
            .help("Sequences moved off an attention instance that failed, to another one").build();
    private final Counter recomputedTokens = Counter.builder().name("moefleet_attention_recomputed_tokens")
            .help("Positions of moved sequences recomputed because the KV pool did not hold them").build();
    private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("fleet-metrics-kv").unstarted(r));
    private volatile List<InstanceStats> kv = List.of();
    private DistributionDataPoint[] shardCalls = new DistributionDataPoint[0];   // the stepping thread's: one per shard

    FleetMetrics(ExpertLoad load, RemoteAttention attention, ShardSet shards) {
        this.load = load;
        this.attention = attention;
        this.shards = shards;
        this.expertCallSeconds = Histogram.builder().name("moefleet_expert_call_seconds")
                .help("One layer's dispatch and combine on an expert shard: from the dispatch to the arrival of its answer")
                .labelNames("shard").classicOnly().classicUpperBounds(LATENCY_BOUNDS).withoutExemplars().build();
    }

    /** Counts a layer's routing of {@code n} tokens. On the stepping thread. */
    void recordRouting(int layer, Routing[] routings, int n) {
        load.record(layer, routings, n);
    }

    /** The last layer call's time on each shard that got tokens (nanoseconds by shard index, 0: none). */
    void recordShardCalls(long[] nanos) {
        if (shardCalls.length < nanos.length) {
            DistributionDataPoint[] grown = java.util.Arrays.copyOf(shardCalls, nanos.length);
            for (int shard = shardCalls.length; shard < nanos.length; shard++) {
                grown[shard] = expertCallSeconds.labelValues(Integer.toString(shard));
            }
            shardCalls = grown;
        }
        for (int shard = 0; shard < nanos.length; shard++) {
            if (nanos[shard] > 0) {
                shardCalls[shard].observe(nanos[shard] / 1e9);
            }
        }
    }

    /** A failover moved {@code sequences} sequences and recomputed {@code tokens} of their positions. */
    void recordMoves(int sequences, long tokens) {
        sequencesMoved.inc(sequences);
        recomputedTokens.inc(tokens);
    }

    /** Adds these metrics to {@code registry} and starts polling the attention instances' Stats. */
    public void register(PrometheusRegistry registry) {
        registry.register(expertCallSeconds);
        registry.register(sequencesMoved);
        registry.register(recomputedTokens);
        registry.register(this::instancesDown);
        registry.register(this::expertCallsAgain);
        registry.register(this::expertLoad);
        registry.register(this::kvPositions);
        registry.register(this::kvPages);
        registry.register(this::prefixCachePages);
        registry.register(this::kvEvicted);
        poller.scheduleWithFixedDelay(this::pollKv, 0, KV_POLL.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void pollKv() {
        try {
            kv = attention.stats();
        } catch (RuntimeException e) {
            // an instance that does not answer leaves the last figures; its health says the rest
        }
    }

    /** Per MoE layer, the tokens each expert got so far, as a histogram over the experts: its sum is tokens x top-k. */
    private HistogramSnapshot expertLoad() {
        HistogramSnapshot.Builder snapshot = HistogramSnapshot.builder().name("moefleet_expert_tokens")
                .help("Tokens routed to each expert of a MoE layer, one observation per expert: how evenly the layer is loaded");
        load.snapshot().forEach((layer, tokens) -> {
            long[] counts = new long[TOKEN_BOUNDS.length];
            long sum = 0;
            for (long count : tokens) {
                sum += count;
                counts[bucket(count)]++;
            }
            snapshot.dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder()
                    .labels(Labels.of("layer", Integer.toString(layer)))
                    .classicHistogramBuckets(ClassicHistogramBuckets.of(TOKEN_BOUNDS, counts))
                    .sum(sum).build());
        });
        return snapshot.build();
    }

    /**
     * Expert calls sent again: to a replica after a failure ("retried"), or also to a replica because they were slow
     * ("hedged"; "hedge_won" when the replica answered first). Counted by the current set of shards: a new placement
     * starts them over, as a restarted process would.
     */
    private CounterSnapshot expertCallsAgain() {
        io.moefleet.expert.RemoteExperts experts = shards.current().experts();
        CounterSnapshot.Builder snapshot = CounterSnapshot.builder().name("moefleet_expert_calls_again")
                .help("Expert calls sent to a replica as well: retried after a failure, hedged when slow, hedges the replica won");
        for (Object[] kind : new Object[][] {{"retried", experts.retries()}, {"hedged", experts.hedges()},
                {"hedge_won", experts.hedgesWon()}}) {
            snapshot.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value((Long) kind[1])
                    .labels(Labels.of("kind", (String) kind[0])).build());
        }
        return snapshot.build();
    }

    private GaugeSnapshot instancesDown() {
        return GaugeSnapshot.builder().name("moefleet_attention_instances_down")
                .help("Attention instances routed around after a failed call, until their health check answers SERVING")
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(attention.instancesDown().size()).build()).build();
    }

    private GaugeSnapshot kvPages() {
        GaugeSnapshot.Builder snapshot = GaugeSnapshot.builder().name("moefleet_kv_hot_pages")
                .help("KV pages each attention instance holds in its memory now");
        for (InstanceStats instance : kv) {
            snapshot.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(instance.pages().hotPages())
                    .labels(Labels.of("instance", instance.address())).build());
        }
        return snapshot.build();
    }

    private GaugeSnapshot kvPositions() {
        GaugeSnapshot.Builder snapshot = GaugeSnapshot.builder().name("moefleet_kv_positions")
                .help("Positions cached by each attention instance's sequences, and how many fit in its memory");
        for (InstanceStats instance : kv) {
            snapshot.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(instance.cachedPositions())
                    .labels(Labels.of("instance", instance.address(), "state", "used")).build());
            snapshot.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
                    .value(Math.max(0, instance.kvCapacityPositions() - instance.cachedPositions()))
                    .labels(Labels.of("instance", instance.address(), "state", "free")).build());
        }
        return snapshot.build();
    }

    /** Prefix-cache pages by where admission found them: hot on the instance, in the pool, or not at all. */
    private CounterSnapshot prefixCachePages() {
        long hot = 0;
        long pool = 0;
        long miss = 0;
        for (InstanceStats instance : kv) {
            InstancePageStats pages = instance.pages();
            hot += pages.hotPagesUsed();
            pool += pages.poolPagesFetched();
            miss += pages.poolMisses();
        }
        CounterSnapshot.Builder snapshot = CounterSnapshot.builder().name("moefleet_prefix_cache_pages")
                .help("Prompt pages looked up at admission, by where they were found (hot, pool) or not (miss)");
        for (Object[] source : new Object[][] {{"hot", hot}, {"pool", pool}, {"miss", miss}}) {
            snapshot.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value((Long) source[1])
                    .labels(Labels.of("source", (String) source[0])).build());
        }
        return snapshot.build();
    }

    /** Pages the attention instances dropped from memory to keep within their budgets. */
    private CounterSnapshot kvEvicted() {
        long evicted = kv.stream().mapToLong(instance -> instance.pages().hotPagesEvicted()).sum();
        return CounterSnapshot.builder().name("moefleet_kv_hot_pages_evicted")
                .help("KV pages the attention instances evicted from their memory (least recently used first)")
                .dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(evicted).build()).build();
    }

    private static int bucket(long tokens) {
        for (int i = 0; i < TOKEN_BOUNDS.length; i++) {
            if (tokens <= TOKEN_BOUNDS[i]) {
                return i;
            }
        }
        return TOKEN_BOUNDS.length - 1;
    }

    private static double[] tokenBounds() {
        double[] bounds = new double[42];
        bounds[0] = 0;
        for (int i = 1; i < bounds.length - 1; i++) {
            bounds[i] = Math.pow(2, i - 1);
        }
        bounds[bounds.length - 1] = Double.POSITIVE_INFINITY;
        return bounds;
    }

    @Override
    public void close() {
        poller.shutdownNow();
    }
}
