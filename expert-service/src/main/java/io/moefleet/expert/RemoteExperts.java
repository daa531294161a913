package io.moefleet.expert;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.moefleet.expert.impl.ShardBatch;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.VectorMath;
import io.moefleet.model.forward.ExpertBackend;
import io.moefleet.model.forward.ExpertOutputs;
import io.moefleet.model.forward.LocalExperts;
import io.moefleet.model.forward.Routing;
import io.moefleet.proto.expert.ExpertServiceGrpc;
import io.moefleet.proto.expert.ForwardResponse;
import io.moefleet.proto.expert.StatsRequest;
import io.moefleet.proto.expert.StatsResponse;
import io.moefleet.proto.expert.TokenExperts;
import io.moefleet.rpc.AnswerWait;
import io.moefleet.rpc.CallDeadlines;
import io.moefleet.rpc.CallFailures;
import io.moefleet.rpc.DownPeers;
import io.moefleet.rpc.FloatRows;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.instrumentation.grpc.v1_6.GrpcTelemetry;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The router's side of the expert shards: routed experts computed on remote shards. Per layer per step it picks one
 * replica for each (token, expert) ({@link ShardBatch#split}: an expert's tokens of one step meet on one shard, and an
 * expert held by several shards goes to the one with the least work so far, so the shards finish together), sends one
 * Forward per shard that has tokens (several for a step too large for one answer), to all shards at once, each call
 * under a deadline. The shards answer each chosen expert's output and the combine weights and adds them as the engine
 * does ({@link LocalExperts#addWeighted}, reading the answers in place): a token's sum is bitwise the engine's,
 * whichever replicas computed its experts.
 *
 * <p>A shard that fails or misses its deadline is marked down and its experts are sent again, within the same step, each
 * to the next replica that is up; later steps route them there too until its health check answers SERVING again. Each
 * expert's output is the same wherever it is computed, so the step's output is bitwise an undisturbed one's. With no
 * replica up for an expert, the step fails with an {@link ExpertShardException} naming the
 * shards and experts. Optionally ({@link #hedgeAfter}, off by default) a call still unanswered after a percentile of the
 * recent calls' times goes to a replica holding all its experts too, and the first answer wins: bitwise the same either way. Not
 * thread-safe: one step at a time, as the model that calls it.
 */
public final class RemoteExperts implements ExpertBackend, AutoCloseable {

    private static final Duration HEALTH_POLL = Duration.ofMillis(50);
    /** The HTTP/2 flow-control window a shard's answers start with (gRPC's default is 1 MiB; it grows from there). */
    private static final int ANSWER_WINDOW_BYTES = 32 << 20;
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
            ManagedChannel channel = NettyChannelBuilder.forTarget(addresses.get(s), credentials)
                    .directExecutor()   // callbacks only complete a future; the step's thread does the work
                    .maxInboundMessageSize(FloatRows.MAX_MESSAGE_BYTES)
                    // an answer carries a row per (token, expert): a prefill's are megabytes, and past the window the
                    // shard waits for this router's acknowledgement, a wake-up of a busy core, before sending the rest
                    .initialFlowControlWindow(ANSWER_WINDOW_BYTES)
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

    /**
     * Sends every shard its tokens at once, a shard that is down routed around (each of its experts to the next replica
     * up); the combine waits for all of them and adds every expert's output.
     */
    @Override
    public Combine dispatch(int layer, float[][] xs, int n, Routing[] routings) {
        long dispatchedAt = System.nanoTime();   // the split (the requests' bytes) is part of the dispatch
        long step = nextStep(layer);
        takeBackRecovered();
        List<ShardBatch> batches;
        try {
            batches = ShardBatch.split(placement, layer, step, xs, n, routings, hidden, down.flags(shards.size()));
        } catch (IllegalStateException noReplicaUp) {
            throw new ExpertShardException("layer " + layer + ", step " + step + ": " + noReplicaUp.getMessage() + "; shards down: "
                    + down.down(), down.down());
        }
        List<ListenableFuture<Answer>> calls = new ArrayList<>(batches.size());
        lastBytesSent = 0;
        for (ShardBatch batch : batches) {
            calls.add(send(batch));
            lastBytesSent += batch.request().getSerializedSize();   // memoised: the marshaller computed it already
        }
        return out -> combine(layer, step, dispatchedAt, batches, calls, xs, routings, n, out);
    }

    /** The batch's call to its shard, and when the answer arrived. */
    private ListenableFuture<Answer> send(ShardBatch batch) {
        return Futures.transform(shards.get(batch.shard()).calls().forward(batch.request()),
                response -> new Answer(response, System.nanoTime()), MoreExecutors.directExecutor());
    }

    /** A batch and the answer to it, from its own shard or from the replicas that took over its experts. */
    private record Answered(ShardBatch batch, ForwardResponse response) {}

    private void combine(int layer, long step, long dispatchedAt, List<ShardBatch> batches,
            List<ListenableFuture<Answer>> calls, float[][] xs, Routing[] routings, int n, float[][] out) {
        lastBytesReceived = 0;
        lastSlowestShardNanos = 0;
        lastCallNanos = 0;
        if (lastShardCallNanos.length != shards.size()) {
            lastShardCallNanos = new long[shards.size()];
        } else {
            Arrays.fill(lastShardCallNanos, 0);
        }
        List<Answered> answered = new ArrayList<>(batches.size());
        List<Integer> failed = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            ShardBatch batch = batches.get(i);
            Shard shard = shards.get(batch.shard());
            try {
                Answer answer = await(calls.get(i), batch, batch.shard(), dispatchedAt);   // bounded by the call's deadline
                callTimes.add(answer.arrivedAt() - dispatchedAt);
                lastCallNanos = Math.max(lastCallNanos, answer.arrivedAt() - dispatchedAt);
                lastShardCallNanos[shard.index()] = Math.max(lastShardCallNanos[shard.index()], answer.arrivedAt() - dispatchedAt);
                lastBytesReceived += answer.response().getSerializedSize();
                lastSlowestShardNanos = Math.max(lastSlowestShardNanos, answer.response().getServerNanos());
                String wrongSize = wrongSize(batch, answer.response());
                if (wrongSize != null) {
                    failed.add(shard.index());
                    reasons.add(describe(shard) + " answered " + wrongSize);
                } else {
                    answered.add(new Answered(batch, answer.response()));
                }
            } catch (ExecutionException e) {
                String reason = describe(shard) + " " + CallFailures.describe(Status.fromThrowable(e.getCause()));
                markDown(shard.index());
                List<String> retryNotes = new ArrayList<>();
                if (!resendToReplicas(batch, xs, answered, retryNotes, reason)) {
                    failed.add(shard.index());
                    reasons.add(reason);
                    reasons.addAll(retryNotes);
                }
            } catch (InterruptedException e) {
                calls.forEach(call -> call.cancel(true));
                Thread.currentThread().interrupt();
                throw new ExpertShardException("layer " + layer + ", step " + step + ": interrupted while waiting for the expert shards",
                        List.of());
            }
        }
        if (!failed.isEmpty()) {
            // a replica that failed the retries of two batches gives the same reason twice: say it once
            throw new ExpertShardException("layer " + layer + ", step " + step + ": " + String.join("; ", reasons.stream().distinct().toList()),
                    failed);
        }
        LocalExperts.addWeighted(routings, n, received(answered, routings, n), out, hidden);
    }

    /** Null when {@code response} carries one output row per (token, expert) of {@code batch}; else what it carries. */
    private String wrongSize(ShardBatch batch, ForwardResponse response) {
        long expected = FloatRows.byteSize(batch.picks(), hidden);
        long size = response.getExpertOutputs().size();
        return size == expected ? null : size + " bytes of expert outputs, " + expected + " expected";
    }

    /**
     * The answers' expert outputs by token and pick, read in place from the received bytes: the output of token t's
     * k-th chosen expert, {@code routings[t].experts()[k]}, is the row at {@code offsets[t][k]} of {@code answers[t][k]}.
     */
    private ExpertOutputs received(List<Answered> answered, Routing[] routings, int n) {
        MemorySegment[][] answers = new MemorySegment[n][];
        long[][] offsets = new long[n][];
        for (int t = 0; t < n; t++) {
            answers[t] = new MemorySegment[routings[t].experts().length];
            offsets[t] = new long[routings[t].experts().length];
        }
        long rowBytes = FloatRows.byteSize(1, hidden);
        for (Answered a : answered) {
            MemorySegment answer = FloatRows.inPlace(a.response().getExpertOutputs());
            long offset = 0;
            List<TokenExperts> tokens = a.batch().request().getTokensList();
            for (int j = 0; j < tokens.size(); j++) {
                int t = a.batch().rows()[j];
                for (int expert : tokens.get(j).getExpertsList()) {
                    int k = pickOf(routings[t], expert);
                    answers[t][k] = answer;
                    offsets[t][k] = offset;
                    offset += rowBytes;
                }
            }
        }
        return (t, k, weight, out, width) -> VectorMath.axpy(weight, answers[t][k], offsets[t][k], out, 0, width);
    }

    private static int pickOf(Routing routing, int expert) {
        int[] experts = routing.experts();
        for (int k = 0; k < experts.length; k++) {
            if (experts[k] == expert) {
                return k;
            }
        }
        throw new IllegalStateException("expert " + expert + " was not chosen for this token");   // the split sent it
    }

    /** Spin up to {@code spin} for an answer before parking (see {@link AnswerWait}); zero, the default, parks at once. */
    public void spinBeforeParking(Duration spin) {
        answerWait.spinFor(spin);
    }

    /**
     * Hedged calls from now on: a call still unanswered after the {@code percentile}-th percentile (0 to 100, exclusive
     * of 0) of the recent calls' times goes to a replica that holds all its experts too, and the first answer wins;
     * 0 turns hedging off. Hedging starts once enough calls were timed.
     */
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
     * The experts of {@code batch}, whose shard failed, sent again within the step to the replicas that are up (each
     * expert to the next replica up, as the next dispatch would route it), each replica that fails marked down in turn
     * and its part sent on; the answers go to {@code answered}. Each expert's output is the same wherever it is computed,
     * so the step's sums are bitwise an undisturbed one's. False when some expert has no replica left up
     * ({@code reasons} then says why).
     */
    private boolean resendToReplicas(ShardBatch batch, float[][] xs, List<Answered> answered, List<String> reasons,
            String firstFailure) {
        List<ShardBatch> pending = List.of(batch);
        while (!pending.isEmpty()) {
            List<ShardBatch> parts = new ArrayList<>();
            try {
                for (ShardBatch failed : pending) {
                    parts.addAll(failed.splitAgain(placement, xs, down.flags(shards.size())));
                }
            } catch (IllegalStateException noReplicaUp) {
                reasons.add(noReplicaUp.getMessage());
                return false;
            }
            List<ListenableFuture<Answer>> calls = new ArrayList<>(parts.size());
            for (ShardBatch part : parts) {
                calls.add(send(part));
            }
            List<ShardBatch> stillFailing = new ArrayList<>();
            for (int i = 0; i < parts.size(); i++) {
                ShardBatch part = parts.get(i);
                Shard replica = shards.get(part.shard());
                try {
                    ForwardResponse response = calls.get(i).get().response();   // bounded by the deadline
                    String wrongSize = wrongSize(part, response);
                    if (wrongSize == null) {
                        retries.incrementAndGet();
                        answered.add(new Answered(part, response));
                        lastBytesReceived += response.getSerializedSize();
                        System.getLogger(RemoteExperts.class.getName()).log(System.Logger.Level.WARNING, firstFailure
                                + "; " + part.picks() + " of its expert rows went to " + describe(replica) + " instead");
                        continue;
                    }
                    reasons.add("retry: " + describe(replica) + " answered " + wrongSize);
                } catch (ExecutionException e) {
                    reasons.add("retry: " + describe(replica) + " " + CallFailures.describe(Status.fromThrowable(e.getCause())));
                } catch (InterruptedException e) {
                    calls.forEach(call -> call.cancel(true));
                    Thread.currentThread().interrupt();
                    return false;
                }
                markDown(replica.index());
                stillFailing.add(part);
            }
            pending = stillFailing;
        }
        return true;
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
