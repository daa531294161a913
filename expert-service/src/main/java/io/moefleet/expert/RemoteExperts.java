package io.moefleet.expert;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthGrpc;
import io.moefleet.expert.impl.ShardBatch;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.forward.ExpertBackend;
import io.moefleet.model.forward.Routing;
import io.moefleet.proto.expert.ExpertServiceGrpc;
import io.moefleet.proto.expert.ForwardResponse;
import io.moefleet.proto.expert.StatsRequest;
import io.moefleet.proto.expert.StatsResponse;
import io.moefleet.rpc.AnswerWait;
import io.moefleet.rpc.CallDeadlines;
import io.moefleet.rpc.CallFailures;
import io.moefleet.rpc.DownPeers;
import io.moefleet.rpc.FloatRows;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.instrumentation.grpc.v1_6.GrpcTelemetry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The router's side of the expert shards: routed experts computed on remote shards. Per layer per step it picks one
 * replica for each (token, expert) (replica {@code (step + expert) mod replicas}: an expert's tokens of one step meet
 * on one shard, and successive steps rotate over its replicas), sends one Forward per shard that has tokens, to all
 * shards at once, each call under a deadline, then adds the partial sums in shard-index order.
 *
 * <p>A shard that fails or misses its deadline is marked down and its call is sent again, within the same step, to a
 * replica holding every expert the call asked for: the same experts over the same tokens in the same order give the
 * same partial sums, added in the same place, so the retried step's output is bitwise an undisturbed one's. Later steps
 * send the down shard's calls whole to such a replica (bitwise too) until its health check answers SERVING again; only
 * when no replica holds all of a call's experts are its experts spread over their replicas (correct tokens, sums
 * grouped differently). With no replica up for an expert, the step fails with an {@link ExpertShardException} naming the
 * shards and experts. Optionally ({@link #hedgeAfter}, off by default) a call still unanswered after a percentile of the
 * recent calls' times goes to such a replica too, and the first answer wins: bitwise the same either way. Not
 * thread-safe: one step at a time, as the model that calls it.
 */
public final class RemoteExperts implements ExpertBackend, AutoCloseable {

    private static final Duration HEALTH_POLL = Duration.ofMillis(50);
    /** How often a shard marked down is asked whether it serves again. */
    private static final Duration HEALTH_RECHECK = Duration.ofSeconds(1);

    private final ExpertPlacement placement;
    private final int[] moeLayers;
    private final int hidden;
    private final List<Shard> shards;
    private long[] dispatches = new long[0];
    private final DownPeers down;                 // shards routed around until their health returns
    private final java.util.concurrent.atomic.AtomicLong retries = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong hedges = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong hedgesWon = new java.util.concurrent.atomic.AtomicLong();
    private final CallTimes callTimes = new CallTimes();
    private volatile double hedgePercentile;      // 0: no hedging; set from any thread
    private final AnswerWait answerWait = new AnswerWait();
    private long lastBytesSent;
    private long lastBytesReceived;
    private long lastSlowestShardNanos;
    private long lastCallNanos;
    private long[] lastShardCallNanos = new long[0];

    /** A shard's answer and when it reached this router (the step may be busy with the shared experts then). */
    private record Answer(ForwardResponse response, long arrivedAt) {}

    /** The shards a router talks to: one channel per shard, to {@code addresses.get(s)} ("host:port") for shard s. */
    private record Shard(int index, String address, ManagedChannel channel, ExpertServiceGrpc.ExpertServiceFutureStub calls,
            ExpertServiceGrpc.ExpertServiceBlockingStub stats, HealthGrpc.HealthBlockingStub health) {}

    /**
     * Channels to the shards of {@code placement} at {@code addresses} (shard s at index s); every call gets
     * {@code deadline} and a client span from {@code openTelemetry}. Connections are made on first use.
     */
    public RemoteExperts(ModelConfig config, ExpertPlacement placement, List<String> addresses, Duration deadline,
            OpenTelemetry openTelemetry) {
        this(config, placement, addresses, deadline, openTelemetry, InsecureChannelCredentials.create());
    }

    /** As above, connecting with {@code credentials} (mutual TLS: {@link io.moefleet.rpc.TlsFiles#channelCredentials}). */
    public RemoteExperts(ModelConfig config, ExpertPlacement placement, List<String> addresses, Duration deadline,
            OpenTelemetry openTelemetry, ChannelCredentials credentials) {
        placement.checkAgainst(config);
        if (addresses.size() != placement.shards()) {
            throw new IllegalArgumentException("the placement has " + placement.shards() + " shards but "
                    + addresses.size() + " addresses were given");
        }
        this.placement = placement;
        this.moeLayers = java.util.stream.IntStream.range(0, config.numHiddenLayers()).filter(config::isMoeLayer).toArray();
        this.hidden = config.hiddenSize();
        CallDeadlines deadlines = new CallDeadlines(deadline);
        GrpcTelemetry telemetry = GrpcTelemetry.create(openTelemetry);
        List<Shard> opened = new ArrayList<>();
        for (int s = 0; s < addresses.size(); s++) {
            ManagedChannel channel = Grpc.newChannelBuilder(addresses.get(s), credentials)
                    .directExecutor()   // callbacks only complete a future; the step's thread does the work
                    .maxInboundMessageSize(FloatRows.MAX_MESSAGE_BYTES)
                    .intercept(telemetry.createClientInterceptor(), deadlines)
                    .build();
            opened.add(new Shard(s, addresses.get(s), channel, ExpertServiceGrpc.newFutureStub(channel),
                    ExpertServiceGrpc.newBlockingStub(channel), HealthGrpc.newBlockingStub(channel)));
        }
        this.shards = List.copyOf(opened);
        this.down = new DownPeers("expert-health-watch", HEALTH_RECHECK, s -> {
            Shard watched = shards.get(s);
            watched.channel().resetConnectBackoff();
            return healthProblem(watched, System.nanoTime() + Duration.ofSeconds(1).toNanos()) == null;
        });
    }

    /** Sends every shard its tokens at once; the combine waits for all of them and adds their sums in shard order. */
    @Override
    public Combine dispatch(int layer, float[][] xs, int n, Routing[] routings) {
        long dispatchedAt = System.nanoTime();   // the split (the requests' bytes) is part of the dispatch
        long step = nextStep(layer);
        takeBackRecovered();
        List<ShardBatch> batches = ShardBatch.split(placement, layer, step, xs, n, routings, hidden);
        int[] targets = targets(batches);
        if (targets == null) {
            // a down shard's call has no single replica to take it whole: route each expert to a replica that is up
            // (correct, but the partial sums group differently: not bitwise the undisturbed step's)
            try {
                batches = ShardBatch.split(placement, layer, step, xs, n, routings, hidden, down.flags(shards.size()));
            } catch (IllegalStateException noReplicaUp) {
                throw new ExpertShardException("layer " + layer + ", step " + step + ": " + noReplicaUp.getMessage() + "; shards down: "
                        + down.down(), down.down());
            }
            targets = batches.stream().mapToInt(ShardBatch::shard).toArray();
        }
        List<ListenableFuture<Answer>> calls = new ArrayList<>(batches.size());
        for (int i = 0; i < batches.size(); i++) {
            calls.add(Futures.transform(shards.get(targets[i]).calls().forward(batches.get(i).request()),
                    response -> new Answer(response, System.nanoTime()), MoreExecutors.directExecutor()));
        }
        lastBytesSent = 0;
        for (ShardBatch batch : batches) {
            lastBytesSent += batch.request().getSerializedSize();   // memoised: the marshaller computed it already
        }
        int[] sentTo = targets;
        List<ShardBatch> sent = batches;
        return out -> combine(layer, step, dispatchedAt, sent, sentTo, calls, out);
    }

    private void combine(int layer, long step, long dispatchedAt, List<ShardBatch> batches, int[] targets,
            List<ListenableFuture<Answer>> calls, float[][] out) {
        lastBytesReceived = 0;
        lastSlowestShardNanos = 0;
        lastCallNanos = 0;
        if (lastShardCallNanos.length != shards.size()) {
            lastShardCallNanos = new long[shards.size()];
        } else {
            Arrays.fill(lastShardCallNanos, 0);
        }
        ForwardResponse[] responses = new ForwardResponse[batches.size()];
        List<Integer> failed = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            Shard shard = shards.get(targets[i]);
            try {
                Answer answer = await(calls.get(i), batches.get(i), targets[i], dispatchedAt);   // bounded by the call's deadline
                callTimes.add(answer.arrivedAt() - dispatchedAt);
                responses[i] = answer.response();
                lastCallNanos = Math.max(lastCallNanos, answer.arrivedAt() - dispatchedAt);
                lastShardCallNanos[shard.index()] = answer.arrivedAt() - dispatchedAt;
                lastBytesReceived += responses[i].getSerializedSize();
                lastSlowestShardNanos = Math.max(lastSlowestShardNanos, responses[i].getServerNanos());
                long expected = FloatRows.byteSize(batches.get(i).rows().length, hidden);
                if (responses[i].getPartialSums().size() != expected) {
                    failed.add(shard.index());
                    reasons.add(describe(shard) + " answered " + responses[i].getPartialSums().size() + " bytes of partial sums, "
                            + expected + " expected");
                }
            } catch (ExecutionException e) {
                String reason = describe(shard) + " " + CallFailures.describe(Status.fromThrowable(e.getCause()));
                markDown(shard.index());
                List<String> retryNotes = new ArrayList<>();
                ForwardResponse retried = retryOnReplica(batches.get(i), shard.index(), retryNotes, reason);
                if (retried != null) {
                    responses[i] = retried;   // in the failed call's place: the combine order is unchanged
                    lastBytesReceived += retried.getSerializedSize();
                    continue;
                }
                failed.add(shard.index());
                reasons.add(reason);
                reasons.addAll(retryNotes);
            } catch (InterruptedException e) {
                calls.forEach(call -> call.cancel(true));
                Thread.currentThread().interrupt();
                throw new ExpertShardException("layer " + layer + ", step " + step + ": interrupted while waiting for the expert shards",
                        List.of());
            }
        }
        if (!failed.isEmpty()) {
            throw new ExpertShardException("layer " + layer + ", step " + step + ": " + String.join("; ", reasons), failed);
        }
        for (int i = 0; i < batches.size(); i++) {
            FloatRows.addInto(responses[i].getPartialSums(), batches.get(i).rows(), out, hidden);
        }
    }

    /**
     * Hedged calls from now on: a call still unanswered after the {@code percentile}-th percentile (0 to 100, exclusive
     * of 0) of the recent calls' times goes to a replica that holds all its experts too, and the first answer wins;
     * 0 turns hedging off. Hedging starts once enough calls were timed.
     */
    /** Spin up to {@code spin} for an answer before parking (see {@link AnswerWait}); zero, the default, parks at once. */
    public void spinBeforeParking(Duration spin) {
        answerWait.spinFor(spin);
    }

    public void hedgeAfter(double percentile) {
        if (percentile < 0 || percentile >= 100) {
            throw new IllegalArgumentException("the hedging percentile is in [0, 100), not " + percentile);
        }
        hedgePercentile = percentile;
    }

    /** Calls also sent to a replica because they were slow, and how many of those the replica answered first. */
    public long hedges() {
        return hedges.get();
    }

    public long hedgesWon() {
        return hedgesWon.get();
    }

    /**
     * The call's answer; with hedging on, once the call is slower than the percentile, also sent to a replica up that
     * holds all its experts, the first answer taken (the other call cancelled). A failure of both is the call's.
     */
    private Answer await(ListenableFuture<Answer> call, ShardBatch batch, int target, long dispatchedAt)
            throws ExecutionException, InterruptedException {
        long after = hedgePercentile > 0 ? callTimes.percentile(hedgePercentile) : -1;
        if (after < 0) {
            return answerWait.get(call);
        }
        try {
            return answerWait.get(call, Math.max(0, dispatchedAt + after - System.nanoTime()));
        } catch (java.util.concurrent.TimeoutException slow) {
            Shard replica = null;
            for (Shard candidate : shards) {
                if (candidate.index() != target && !down.isDown(candidate.index()) && batch.answerableBy(placement, candidate.index())) {
                    replica = candidate;
                    break;
                }
            }
            if (replica == null) {
                return call.get();
            }
            hedges.incrementAndGet();
            ListenableFuture<Answer> hedge = Futures.transform(replica.calls().forward(batch.request()),
                    response -> new Answer(response, System.nanoTime()), MoreExecutors.directExecutor());
            java.util.concurrent.CompletableFuture<Answer> first = new java.util.concurrent.CompletableFuture<>();
            java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger();
            for (ListenableFuture<Answer> each : List.of(call, hedge)) {
                each.addListener(() -> {
                    try {
                        Answer answer = Futures.getDone(each);
                        if (first.complete(answer) && each == hedge) {
                            hedgesWon.incrementAndGet();
                        }
                    } catch (ExecutionException | java.util.concurrent.CancellationException e) {
                        if (failures.incrementAndGet() == 2) {
                            first.completeExceptionally(e instanceof ExecutionException ee ? ee.getCause() : e);
                        }
                    }
                }, MoreExecutors.directExecutor());
            }
            try {
                return first.get();
            } finally {
                call.cancel(true);   // no-ops on the call that answered
                hedge.cancel(true);
            }
        }
    }

    /**
     * The failed call of {@code batch} sent again to a replica that holds all its experts and is up, in ascending shard
     * order, each one that fails marked down too; null when none answers ({@code reasons} then says why).
     */
    private ForwardResponse retryOnReplica(ShardBatch batch, int failedShard, List<String> reasons, String firstFailure) {
        boolean anyReplica = false;
        for (Shard replica : shards) {
            if (replica.index() == failedShard || !batch.answerableBy(placement, replica.index())) {
                continue;
            }
            anyReplica = true;
            if (down.isDown(replica.index())) {
                continue;
            }
            try {
                ForwardResponse response = replica.calls().forward(batch.request()).get();   // bounded by the deadline
                long expected = FloatRows.byteSize(batch.rows().length, hidden);
                if (response.getPartialSums().size() == expected) {
                    retries.incrementAndGet();
                    System.getLogger(RemoteExperts.class.getName()).log(System.Logger.Level.WARNING, firstFailure
                            + "; its call went to " + describe(replica) + " instead");
                    return response;
                }
            } catch (ExecutionException e) {
                reasons.add("retry: " + describe(replica) + " " + CallFailures.describe(Status.fromThrowable(e.getCause())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
            markDown(replica.index());
        }
        if (anyReplica) {
            reasons.add("no replica holding all of " + describe(shards.get(failedShard)) + "'s experts of this call is up");
        }
        return null;
    }

    /**
     * Where each batch goes: its own shard, or for a shard that is down the first replica that is up and holds every
     * expert the batch asks for, so that the batch is computed whole (bitwise as on its own shard); null when a down
     * shard's batch has no such replica.
     */
    private int[] targets(List<ShardBatch> batches) {
        int[] targets = new int[batches.size()];
        for (int i = 0; i < batches.size(); i++) {
            ShardBatch batch = batches.get(i);
            targets[i] = batch.shard();
            if (down.isDown(batch.shard())) {
                targets[i] = -1;
                for (int s = 0; s < shards.size() && targets[i] < 0; s++) {
                    if (!down.isDown(s) && batch.answerableBy(placement, s)) {
                        targets[i] = s;
                    }
                }
                if (targets[i] < 0) {
                    return null;
                }
            }
        }
        return targets;
    }

    /** Routes around {@code shard} until its health check answers SERVING; the watch then hands it back. */
    private void markDown(int shard) {
        down.markDown(shard);
    }

    /** Shards the health watch found serving again are used from this dispatch on. On the stepping thread. */
    private void takeBackRecovered() {
        for (int s : down.takeBackRecovered()) {
            System.getLogger(RemoteExperts.class.getName()).log(System.Logger.Level.INFO, describe(shards.get(s))
                    + " serves again: routed to");
        }
    }

    /** Calls sent again to a replica since the router started (a shard failed or missed its deadline). */
    public long retries() {
        return retries.get();
    }

    /** The shards routed around now. Thread-safe enough for reports: a snapshot of the stepping thread's view. */
    public List<Integer> shardsDown() {
        return down.down();
    }

    /**
     * Protobuf bytes of the last {@link #dispatch}'s Forward requests, all shards together: one layer's
     * dispatch (gRPC framing and HTTP/2 headers not counted).
     */
    public long lastBytesSent() {
        return lastBytesSent;
    }

    /** Protobuf bytes of the responses that reached this router in the last combine: one layer's. */
    public long lastBytesReceived() {
        return lastBytesReceived;
    }

    /**
     * The longest time a shard spent on its call of the last combine, by its own clock (decoding, computing, encoding):
     * the rest of the call's wall time is the wire, the queues and gRPC on both sides.
     */
    public long lastSlowestShardNanos() {
        return lastSlowestShardNanos;
    }

    /**
     * Per shard, from the last dispatch to the arrival of its answer; 0 for a shard the layer sent nothing. The array is
     * reused by the next combine: read it before.
     */
    public long[] lastShardCallNanos() {
        return lastShardCallNanos;
    }

    /** From the last dispatch to the arrival of its last answer: one layer's dispatch and combine over the network. */
    public long lastCallNanos() {
        return lastCallNanos;
    }

    /**
     * Waits until every shard's health check answers SERVING; throws naming the shards that do not by {@code timeout}
     * (unreachable, or still loading).
     */
    public void awaitServing(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        List<Integer> waiting = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        for (Shard shard : shards) {
            String problem = healthProblem(shard, end);
            while (problem != null && System.nanoTime() < end) {
                shard.channel().resetConnectBackoff();   // a shard still starting is retried now, not after the channel's backoff
                sleep(HEALTH_POLL);
                problem = healthProblem(shard, end);
            }
            if (problem != null) {
                waiting.add(shard.index());
                reasons.add(describe(shard) + " " + problem);
            }
        }
        if (!waiting.isEmpty()) {
            throw new ExpertShardException("not serving after " + timeout.toMillis() + " ms: " + String.join("; ", reasons), waiting);
        }
    }

    /**
     * Whether every routed expert of every MoE layer is held by a shard whose health check answers SERVING within
     * {@code timeout} (a shard down is no loss while its replicas serve); the shards are asked at once.
     */
    public boolean everyExpertServed(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        List<java.util.concurrent.CompletableFuture<Boolean>> answers = shards.stream()
                .map(shard -> java.util.concurrent.CompletableFuture.supplyAsync(() -> healthProblem(shard, end) == null,
                        Thread::startVirtualThread))
                .toList();
        boolean[] up = new boolean[shards.size()];
        for (int s = 0; s < up.length; s++) {
            up[s] = answers.get(s).join();
        }
        for (int layer : moeLayers) {
            for (int expert = 0; expert < placement.routedExperts(); expert++) {
                boolean served = false;
                for (int replica = 0; replica < placement.replicas(layer, expert) && !served; replica++) {
                    served = up[placement.shardOf(layer, expert, replica)];
                }
                if (!served) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Null when the shard's health check answers SERVING, else what it answered. */
    private static String healthProblem(Shard shard, long end) {
        return DownPeers.healthProblem(shard.health(), ExpertServiceGrpc.SERVICE_NAME, end);
    }

    /**
     * What the shards lack of what the placement gives them, as their Stats report what they hold: one line per shard
     * short of experts, none when every shard holds its part (a router switching to a new placement checks this
     * first, so that it never sends a token to a shard still loading its experts).
     */
    public List<String> missingExperts() {
        List<String> missing = new ArrayList<>();
        for (ShardStats stats : stats()) {
            java.util.Set<Long> held = new java.util.HashSet<>();
            for (ShardStats.ExpertTokens expert : stats.experts()) {
                held.add(((long) expert.layer() << 32) | expert.expert());
            }
            int lacking = 0;
            String example = null;
            for (int layer : moeLayers) {
                for (int expert : placement.expertsOf(stats.shard(), layer)) {
                    if (!held.contains(((long) layer << 32) | expert)) {
                        lacking++;
                        example = example != null ? example : "layer " + layer + " expert " + expert;
                    }
                }
            }
            if (lacking > 0) {
                missing.add(describe(shards.get(stats.shard())) + " lacks " + lacking + " of its experts (" + example + ", ...)");
            }
        }
        return missing;
    }

    /** Every shard's counters, in shard order. */
    public List<ShardStats> stats() {
        List<ShardStats> all = new ArrayList<>();
        for (Shard shard : shards) {
            StatsResponse stats;
            try {
                stats = shard.stats().stats(StatsRequest.getDefaultInstance());
            } catch (StatusRuntimeException e) {
                throw new ExpertShardException("stats: " + describe(shard) + " " + CallFailures.describe(e.getStatus()), List.of(shard.index()));
            }
            all.add(new ShardStats(shard.index(), shard.address(), stats.getCalls(), stats.getTokens(),
                    stats.getExpertsList().stream()
                            .map(e -> new ShardStats.ExpertTokens(e.getLayer(), e.getExpert(), e.getTokens()))
                            .toList()));
        }
        return all;
    }

    /** Shuts every channel down. */
    @Override
    public void close() {
        down.close();
        shards.forEach(shard -> shard.channel().shutdownNow());
        try {
            for (Shard shard : shards) {
                shard.channel().awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The step id of this call: how often the layer has been dispatched before (the model calls each MoE layer once per step). */
    private long nextStep(int layer) {
        if (layer >= dispatches.length) {
            dispatches = Arrays.copyOf(dispatches, layer + 1);
        }
        return dispatches[layer]++;
    }

    private static String describe(Shard shard) {
        return "expert shard " + shard.index() + " at " + shard.address();
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ExpertShardException("interrupted while waiting for the expert shards to serve", List.of());
        }
    }
}
