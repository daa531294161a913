package io.moefleet.attention;

import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.moefleet.attention.impl.InstanceBatch;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.forward.AttentionBackend;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.proto.attention.AdmitRequest;
import io.moefleet.proto.attention.AdmitResponse;
import io.moefleet.proto.attention.AttendResponse;
import io.moefleet.proto.attention.AttentionServiceGrpc;
import io.moefleet.proto.attention.HotPrefixRequest;
import io.moefleet.proto.attention.HotPrefixResponse;
import io.moefleet.proto.attention.PageStats;
import io.moefleet.proto.attention.ReleaseRequest;
import io.moefleet.proto.attention.StatsRequest;
import io.moefleet.proto.attention.StatsResponse;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The router's side of the attention instances: each new sequence is assigned to an instance (by a
 * {@link SequenceAssignment}) and stays there, since its latent cache lives there. A new request goes through
 * {@link #admit} (the instance restores the prompt's cached prefix from its hot pages or the KV pool), steps only the
 * rest of the prompt, from the position admit returns, then decodes, then is {@link #release}d. Per layer per step it
 * sends one Attend per instance that holds chunks of the step, to all of them at once, each call under a deadline, and
 * writes the returned o_proj rows back at the chunks' rows. An instance that does not answer fails the step with an
 * {@link AttentionInstanceException} naming it and its address, and the instance is routed around (no new sequence, and
 * a step with a sequence held there fails at once) until its health check answers SERVING again. The sequences it held
 * then {@link #move} to other instances: each is admitted again with the tokens of its computed positions (this client
 * records them, and which a one-token chunk computed), the new instance restores what the KV pool holds, and the chunks
 * {@code move} returns recompute the rest, each position on the path it had, so that the latents, and the tokens that
 * follow, are bitwise those of an undisturbed run. One step at a time, as the model that calls it; {@link #admit} may run
 * on another thread meanwhile (a slow pool lookup then delays only the sequence admitted), as may {@link #setInstances}.
 * The books (which instance holds which sequence, and what each has computed) are kept under this object's lock, never
 * held over a call.
 *
 * <p>The instances change as the fleet scales ({@link #setInstances}): a new one is appended (an instance's index never
 * changes, its sequences' caches live there), and one no longer listed takes no new sequence but keeps serving those it
 * holds until they are released, so that it can go once it holds none ({@link #occupancy}).
 */
public final class RemoteAttention implements AttentionBackend, AutoCloseable {

    private static final System.Logger LOG = System.getLogger(RemoteAttention.class.getName());
    private static final Duration HEALTH_POLL = Duration.ofMillis(50);
    /** A HotPrefix probe is a hash chain and a map lookup: an instance this slow to answer it is no place for a new sequence. */
    private static final Duration PROBE_DEADLINE = Duration.ofSeconds(2);
    /** How often an instance routed around is asked whether it serves again. */
    private static final Duration HEALTH_RECHECK = Duration.ofSeconds(1);

    private final int hidden;
    private final int lastLayer;
    private final CallDeadlines deadlines;
    private final GrpcTelemetry telemetry;
    private volatile List<Instance> instances;  // append-only: read by other threads for health and stats
    private boolean[] accepting;                // whether an instance takes new sequences; guarded by this, as the maps below
    private final AtomicReference<List<String>> listed = new AtomicReference<>();   // a change of instances to apply
    private final SequenceAssignment assignment;
    private final Duration deadline;
    private final ChannelCredentials credentials;
    private final Map<Long, Integer> instanceOfSequence = new HashMap<>();
    private final Map<Long, ComputedPositions> computed = new HashMap<>();
    private final DownPeers down;
    private int[] sequencesOn;
    private volatile List<Occupancy> occupancy = List.of();

    /** An instance the router knows: whether new sequences go there, whether it is routed around, and how many it holds. */
    public record Occupancy(String address, boolean accepting, boolean down, int sequences) {}
    private long step = -1;
    private final AnswerWait answerWait = new AnswerWait();
    private long lastSlowestInstanceNanos;

    /** The instances a router talks to: one channel each, to {@code addresses.get(i)} ("host:port") for instance i. */
    private record Instance(int index, String address, ManagedChannel channel,
            AttentionServiceGrpc.AttentionServiceFutureStub calls, AttentionServiceGrpc.AttentionServiceBlockingStub blocking,
            HealthGrpc.HealthBlockingStub health) {}

    /**
     * Channels to the attention instances at {@code addresses} (instance i at index i); new sequences are placed by
     * {@code assignment}; every call gets {@code deadline} and a client span from {@code openTelemetry}. Connections
     * are made on first use.
     */
    public RemoteAttention(ModelConfig config, List<String> addresses, SequenceAssignment assignment, Duration deadline,
            OpenTelemetry openTelemetry) {
        this(config, addresses, assignment, deadline, openTelemetry, InsecureChannelCredentials.create());
    }

    /** As above, connecting with {@code credentials} (mutual TLS: {@link io.moefleet.rpc.TlsFiles#channelCredentials}). */
    public RemoteAttention(ModelConfig config, List<String> addresses, SequenceAssignment assignment, Duration deadline,
            OpenTelemetry openTelemetry, ChannelCredentials credentials) {
        if (addresses.isEmpty()) {
            throw new IllegalArgumentException("no attention instance addresses");
        }
        this.hidden = config.hiddenSize();
        this.lastLayer = config.numHiddenLayers() - 1;
        this.down = new DownPeers("attention-health-watch", HEALTH_RECHECK, i -> {
            Instance watched = instances.get(i);
            watched.channel().resetConnectBackoff();
            return healthProblem(watched, System.nanoTime() + Duration.ofSeconds(1).toNanos()) == null;
        });
        this.assignment = assignment;
        this.deadline = deadline;
        this.deadlines = new CallDeadlines(deadline);
        this.credentials = credentials;
        this.telemetry = GrpcTelemetry.create(openTelemetry);
        this.instances = List.of();
        this.accepting = new boolean[0];
        this.sequencesOn = new int[0];
        listed.set(List.copyOf(addresses));
        applyListed();
    }

    /**
     * From the next admission on, new sequences go only to the instances at {@code addresses}: those not known yet are
     * added, those no longer listed keep their sequences and take no new one. Callable from any thread; applied by the
     * stepping thread. The caller checks that new instances serve first ({@link #serving}).
     */
    public void setInstances(List<String> addresses) {
        if (addresses.isEmpty()) {
            throw new IllegalArgumentException("no attention instance addresses");
        }
        listed.set(List.copyOf(addresses));
    }

    /** Every instance known, in index order: the listed ones and those still holding sequences. Thread-safe. */
    public List<Occupancy> occupancy() {
        return occupancy;
    }

    /**
     * Whether the instance at {@code address} answers its health check SERVING within {@code timeout}, asked with this
     * router's credentials.
     */
    public boolean serving(String address, Duration timeout) {
        ManagedChannel channel = Grpc.newChannelBuilder(address, credentials).build();
        try {
            return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(AttentionServiceGrpc.SERVICE_NAME).build())
                    .getStatus() == ServingStatus.SERVING;
        } catch (StatusRuntimeException e) {
            return false;
        } finally {
            channel.shutdownNow();
        }
    }

    /** Applies a change of instances asked for by {@link #setInstances}, on the stepping thread. */
    private synchronized void applyListed() {
        List<String> addresses = listed.getAndSet(null);
        if (addresses == null) {
            return;
        }
        List<Instance> all = new ArrayList<>(instances);
        for (String address : addresses) {
            if (all.stream().noneMatch(instance -> instance.address().equals(address))) {
                ManagedChannel channel = Grpc.newChannelBuilder(address, credentials)
                        .directExecutor()   // callbacks only complete a future; the step's thread does the work
                        .maxInboundMessageSize(FloatRows.MAX_MESSAGE_BYTES)
                        .intercept(telemetry.createClientInterceptor(), deadlines)
                        .build();
                all.add(new Instance(all.size(), address, channel, AttentionServiceGrpc.newFutureStub(channel),
                        AttentionServiceGrpc.newBlockingStub(channel), HealthGrpc.newBlockingStub(channel)));
            }
        }
        instances = List.copyOf(all);
        accepting = new boolean[all.size()];
        for (int i = 0; i < all.size(); i++) {
            accepting[i] = addresses.contains(all.get(i).address());
        }
        sequencesOn = Arrays.copyOf(sequencesOn, all.size());
        publishOccupancy();
    }

    private synchronized void publishOccupancy() {
        List<Occupancy> now = new ArrayList<>(instances.size());
        for (Instance instance : instances) {
            now.add(new Occupancy(instance.address(), accepting[instance.index()], down.isDown(instance.index()),
                    sequencesOn[instance.index()]));
        }
        occupancy = List.copyOf(now);
    }

    /** Spin up to {@code spin} for an answer before parking (see {@link AnswerWait}); zero, the default, parks at once. */
    public void spinBeforeParking(Duration spin) {
        answerWait.spinFor(spin);
    }

    /** A new step: instances listed or recovered since the last one are taken in; a sequence on a down instance fails it. */
    @Override
    public synchronized void beginStep(List<StepChunk> chunks) {
        step++;
        applyListed();
        takeBackRecovered();
        int[] instanceOf = new int[chunks.size()];
        for (int c = 0; c < chunks.size(); c++) {
            instanceOf[c] = instanceOf(chunks.get(c));
        }
        failIfHeldByDown(instanceOf);
    }

    /** Sends one call per instance holding some of the chunks; the pending attend waits for them and copies the rows out. */
    @Override
    public Pending begin(int layer, List<StepChunk> chunks, float[][] normed, int total, float[][] out) {
        int[] instanceOf = new int[chunks.size()];
        long stepId;
        synchronized (this) {
            for (int c = 0; c < chunks.size(); c++) {
                instanceOf[c] = instanceOf(chunks.get(c));
            }
            stepId = step;
        }
        List<InstanceBatch> batches = InstanceBatch.split(chunks, instanceOf, instances.size(), layer, stepId, normed, hidden);
        List<ListenableFuture<AttendResponse>> calls = new ArrayList<>(batches.size());
        for (InstanceBatch batch : batches) {
            calls.add(instances.get(batch.instance()).calls().attend(batch.request()));
        }
        return () -> awaitAttend(layer, stepId, chunks, batches, calls, out);
    }

    private void awaitAttend(int layer, long stepId, List<StepChunk> chunks, List<InstanceBatch> batches,
            List<ListenableFuture<AttendResponse>> calls, float[][] out) {
        AttendResponse[] responses = new AttendResponse[batches.size()];
        lastSlowestInstanceNanos = 0;
        List<Integer> failed = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            Instance instance = instances.get(batches.get(i).instance());
            try {
                responses[i] = answerWait.get(calls.get(i));   // bounded by the call's deadline
                lastSlowestInstanceNanos = Math.max(lastSlowestInstanceNanos, responses[i].getServerNanos());
                long expected = FloatRows.byteSize(batches.get(i).rows().length, hidden);
                if (responses[i].getOutput().size() != expected) {
                    failed.add(instance.index());
                    reasons.add(describe(instance) + " answered " + responses[i].getOutput().size() + " bytes of output, "
                            + expected + " expected");
                }
            } catch (ExecutionException e) {
                failed.add(instance.index());
                reasons.add(describe(instance) + " " + CallFailures.describe(Status.fromThrowable(e.getCause())));
            } catch (InterruptedException e) {
                calls.forEach(call -> call.cancel(true));
                Thread.currentThread().interrupt();
                throw new AttentionInstanceException("layer " + layer + ", step " + stepId
                        + ": interrupted while waiting for the attention instances", List.of());
            }
        }
        if (!failed.isEmpty()) {
            failed.forEach(this::markDown);
            throw new AttentionInstanceException("layer " + layer + ", step " + stepId + ": " + String.join("; ", reasons), failed);
        }
        for (int i = 0; i < batches.size(); i++) {
            FloatRows.copyInto(responses[i].getOutput(), batches.get(i).rows(), out, hidden);
        }
        if (layer == lastLayer) {
            synchronized (this) {
                for (StepChunk chunk : chunks) {
                    computed.computeIfAbsent(chunk.sequence().id(), id -> new ComputedPositions()).record(chunk.start(), chunk.tokens());
                }
            }
        }
    }

    /** A step with a sequence held by an instance routed around fails before any call: the sequence has to move first. */
    private void failIfHeldByDown(int[] instanceOf) {
        List<Integer> held = new ArrayList<>();
        for (int instance : instanceOf) {
            if (down.isDown(instance) && !held.contains(instance)) {
                held.add(instance);
            }
        }
        if (!held.isEmpty()) {
            held.sort(null);
            throw new AttentionInstanceException("step " + step + ": sequences of the step are held by "
                    + String.join(", ", held.stream().map(i -> describe(instances.get(i))).toList())
                    + ", which failed a call and is routed around: move them first", held);
        }
    }

    /**
     * The longest time an instance spent on its call of the last {@link #attend}, by its own clock (decoding,
     * computing, encoding): the rest of the call's wall time is the wire, the queues and gRPC on both sides.
     */
    public long lastSlowestInstanceNanos() {
        return lastSlowestInstanceNanos;
    }

    /**
     * Starts a new request's sequence: assigns it an instance (the {@link SequenceAssignment}, which may ask every
     * instance which pages of the prompt it holds hot), has that instance restore the longest cached prefix of the
     * prompt's full pages (hot in its memory, else from the KV pool) and returns how many leading tokens are cached:
     * the sequence resumes there, so the caller's first step is {@code StepChunk.next(sequence, prompt[cached..])},
     * whose logits are those of the whole prompt. Always fewer than the prompt's tokens (0 without a pool).
     *
     * <p>It also moves a sequence whose instance was lost: once {@link #release} has forgotten it (it does even when the
     * instance does not answer), admit it again with every token it has taken so far and the next one as the prompt;
     * the new instance restores what the pool holds and the step from the returned position computes the rest.
     *
     * @throws IllegalStateException        when the sequence is assigned to an instance
     * @throws AttentionInstanceException   when the chosen instance does not answer
     */
    public int admit(Sequence sequence, int[] prompt) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt of sequence " + sequence.id() + " has no tokens");
        }
        synchronized (this) {
            if (instanceOfSequence.containsKey(sequence.id())) {
                throw new IllegalStateException("sequence " + sequence.id() + " is held by instance " + instanceOf(sequence)
                        + " already: admit starts a sequence on an instance (release it first to move it)");
            }
            applyListed();
        }
        int cached = place(sequence, prompt);
        synchronized (this) {
            computed.put(sequence.id(), ComputedPositions.restored(prompt, cached));
        }
        return cached;
    }

    /**
     * Moves a sequence whose instance was routed around (its step failed) to another instance, before {@code pending},
     * its chunk of that step, runs again: the sequence is admitted with the tokens of its positions before pending's
     * start and pending's tokens as the prompt (the new instance restores what the KV pool holds), and the returned
     * chunks, stepped in order before pending, recompute the positions the pool did not hold, each on the path it had
     * before. The old instance is asked to free the sequence, without waiting (it is most likely gone).
     *
     * @throws AttentionInstanceException when no instance is up to take it (none named: there is nowhere to go)
     */
    public List<StepChunk> move(StepChunk pending) {
        Sequence sequence = pending.sequence();
        Integer from;
        int[] before;
        synchronized (this) {
            from = instanceOfSequence.remove(sequence.id());
            if (from != null) {
                sequencesOn[from]--;
                publishOccupancy();
            }
            before = computed.computeIfAbsent(sequence.id(), id -> new ComputedPositions()).tokensBefore(pending.start());
        }
        if (from != null) {
            releaseWithoutWaiting(instances.get(from), sequence.id());
        }
        int[] prompt = Arrays.copyOf(before, before.length + pending.tokens().length);
        System.arraycopy(pending.tokens(), 0, prompt, before.length, pending.tokens().length);
        int cached = place(sequence, prompt);
        LOG.log(System.Logger.Level.WARNING, "sequence {0} moved from {1} to {2}: {3} of its {4} positions restored, the rest "
                + "recomputed", sequence.id(), from == null ? "nowhere" : describe(instances.get(from)),
                describe(instances.get(instanceOf(sequence))), Math.min(cached, before.length), before.length);
        List<StepChunk> chunks = new ArrayList<>();
        synchronized (this) {
            for (ComputedPositions.Chunk chunk : computed.get(sequence.id()).recompute(Math.min(cached, before.length), before.length)) {
                chunks.add(new StepChunk(sequence, chunk.start(), chunk.tokens(), false));
            }
        }
        return chunks;
    }

    /** Whether the instance holding {@code sequence} is routed around: the sequence has to {@link #move} before it steps. */
    public synchronized boolean heldByDownInstance(Sequence sequence) {
        Integer instance = instanceOfSequence.get(sequence.id());
        return instance != null && down.isDown(instance);
    }

    /** The instances routed around now (a call failed; each comes back once its health check answers SERVING), ascending. */
    public List<Integer> instancesDown() {
        return down.down();
    }

    /**
     * Admits the sequence with {@code prompt} on an instance: the assignment's choice, or, when the chosen instance does
     * not answer, the next choice among the others (the one that failed is routed around). Returns the cached tokens.
     */
    private int place(Sequence sequence, int[] prompt) {
        AdmitRequest.Builder request = AdmitRequest.newBuilder().setSequenceId(sequence.id());
        for (int token : prompt) {
            request.addTokenIds(token);
        }
        AdmitRequest built = request.build();
        List<String> failures = new ArrayList<>();
        while (true) {
            int chosen = assign(prompt, failures);
            Instance instance = instances.get(chosen);
            AdmitResponse answer;
            try {
                answer = instance.blocking().admit(built);
            } catch (StatusRuntimeException e) {
                failures.add("admit of sequence " + sequence.id() + ": " + describe(instance) + " " + CallFailures.describe(e.getStatus()));
                LOG.log(System.Logger.Level.WARNING, failures.getLast() + "; trying another instance");
                markDown(chosen);
                continue;
            }
            int cached = answer.getCachedTokens();
            if (cached < 0 || cached >= prompt.length) {
                throw new AttentionInstanceException("admit of sequence " + sequence.id() + ": " + describe(instance)
                        + " answered " + Integer.toUnsignedString(cached) + " cached tokens for a prompt of " + prompt.length,
                        List.of(chosen));
            }
            sequence.resumeAt(cached);
            synchronized (this) {
                instanceOfSequence.put(sequence.id(), chosen);
                sequencesOn[chosen]++;
                publishOccupancy();
            }
            return cached;
        }
    }

    /** Frees the sequence's cache on its instance and forgets where it was; a sequence never attended is ignored. */
    @Override
    public void release(Sequence sequence) {
        Integer index;
        synchronized (this) {
            computed.remove(sequence.id());
            index = instanceOfSequence.remove(sequence.id());
            if (index == null) {
                return;
            }
            sequencesOn[index]--;
            publishOccupancy();
        }
        Instance instance = instances.get(index);
        if (down.isDown(index)) {
            releaseWithoutWaiting(instance, sequence.id());   // most likely gone; if it was only slow, it frees the cache
            return;
        }
        try {
            instance.blocking().release(ReleaseRequest.newBuilder().addSequenceIds(sequence.id()).build());
        } catch (StatusRuntimeException e) {
            markDown(index);
            throw new AttentionInstanceException("release of sequence " + sequence.id() + ": " + describe(instance) + " "
                    + CallFailures.describe(e.getStatus()), List.of(index));
        }
    }

    private void releaseWithoutWaiting(Instance instance, long sequenceId) {
        instance.calls().withDeadlineAfter(PROBE_DEADLINE.toNanos(), TimeUnit.NANOSECONDS)
                .release(ReleaseRequest.newBuilder().addSequenceIds(sequenceId).build());
    }

    /** Routes around {@code instance} until its health check answers SERVING. */
    private void markDown(int instance) {
        if (down.markDown(instance)) {
            LOG.log(System.Logger.Level.WARNING, describe(instances.get(instance)) + " failed a call: it takes no sequence and "
                    + "its sequences move, until its health check answers SERVING");
            publishOccupancy();
        }
    }

    /** Instances the health watch found serving again take new sequences from this step on. */
    private void takeBackRecovered() {
        List<Integer> back = down.takeBackRecovered();
        for (int instance : back) {
            LOG.log(System.Logger.Level.INFO, describe(instances.get(instance)) + " serves again: it takes new sequences");
        }
        if (!back.isEmpty()) {
            publishOccupancy();
        }
    }

    /** The instance holding {@code sequence} ({@code -1}: none, never attended or released). */
    public synchronized int instanceOf(Sequence sequence) {
        return instanceOfSequence.getOrDefault(sequence.id(), -1);
    }

    /**
     * Waits until every instance's health check answers SERVING; throws naming the instances that do not by
     * {@code timeout} (unreachable, or still loading).
     */
    public void awaitServing(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        List<Integer> waiting = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        for (Instance instance : inUse()) {
            String problem = healthProblem(instance, end);
            while (problem != null && System.nanoTime() < end) {
                instance.channel().resetConnectBackoff();   // an instance still starting is retried now, not after the backoff
                sleep(HEALTH_POLL);
                problem = healthProblem(instance, end);
            }
            if (problem != null) {
                waiting.add(instance.index());
                reasons.add(describe(instance) + " " + problem);
            }
        }
        if (!waiting.isEmpty()) {
            throw new AttentionInstanceException("not serving after " + timeout.toMillis() + " ms: " + String.join("; ", reasons),
                    waiting);
        }
    }

    /** Whether an instance that takes new sequences answers its health check SERVING within {@code timeout}. */
    public boolean anyServing(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        for (Instance instance : inUse()) {
            if (occupancy.get(instance.index()).accepting() && healthProblem(instance, end) == null) {
                return true;
            }
        }
        return false;
    }

    /** The counters of every instance up (not routed around), in instance order. */
    public List<InstanceStats> stats() {
        List<InstanceStats> all = new ArrayList<>();
        for (Instance instance : inUse()) {
            if (down.isDown(instance.index())) {
                continue;
            }
            StatsResponse stats;
            try {
                stats = instance.blocking().stats(StatsRequest.getDefaultInstance());
            } catch (StatusRuntimeException e) {
                throw new AttentionInstanceException("stats: " + describe(instance) + " " + CallFailures.describe(e.getStatus()),
                        List.of(instance.index()));
            }
            all.add(new InstanceStats(instance.index(), instance.address(), stats.getCalls(), stats.getTokenRows(),
                    stats.getSequencesStarted(), stats.getSequencesReleased(), stats.getSequencesHeld(), stats.getCachedPositions(),
                    stats.getKvCapacityPositions(), pageStats(stats.getPages())));
        }
        return all;
    }

    /** Shuts every channel down. */
    @Override
    public void close() {
        down.close();
        instances.forEach(instance -> instance.channel().shutdownNow());
        try {
            for (Instance instance : instances) {
                instance.channel().awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The chunk's sequence's instance, assigning a new sequence (one not admitted) on first sight. */
    private int instanceOf(StepChunk chunk) {
        Integer known = instanceOfSequence.get(chunk.sequence().id());
        if (known != null) {
            return known;
        }
        int chosen = assign(chunk.tokens(), new ArrayList<>());
        instanceOfSequence.put(chunk.sequence().id(), chosen);
        sequencesOn[chosen]++;
        publishOccupancy();
        return chosen;
    }

    /**
     * The instances listed, and those no longer listed that still hold sequences, from the published snapshot (health
     * checks and stats run on other threads than the steps).
     */
    private List<Instance> inUse() {
        List<Occupancy> now = occupancy;
        List<Instance> known = instances;
        List<Instance> used = new ArrayList<>();
        for (int i = 0; i < now.size() && i < known.size(); i++) {
            if (now.get(i).accepting() || now.get(i).sequences() > 0) {
                used.add(known.get(i));
            }
        }
        return used;
    }

    /**
     * An instance for a new sequence, among those taking new sequences and up (the assignment sees only them); with none
     * left, an exception saying why, after {@code failures} (the admissions tried already).
     */
    private int assign(int[] prompt, List<String> failures) {
        List<Instance> open;
        int[] held;
        synchronized (this) {
            open = instances.stream().filter(i -> accepting[i.index()] && !down.isDown(i.index())).toList();
            held = open.stream().mapToInt(i -> sequencesOn[i.index()]).toArray();
        }
        if (open.isEmpty()) {
            throw new AttentionInstanceException("no attention instance is up to take a sequence (routed around: "
                    + String.join(", ", down.down().stream().map(i -> describe(instances.get(i))).toList()) + ")"
                    + (failures.isEmpty() ? "" : "; " + String.join("; ", failures)), List.of());
        }
        int chosen;
        synchronized (assignment) {   // an assignment keeps its own state (turns, counts); its probe runs outside the books' lock
            chosen = assignment.instanceFor(new NewSequence(prompt, held, () -> hotPages(open, prompt)));
        }
        if (chosen < 0 || chosen >= open.size()) {
            throw new IllegalStateException("the sequence assignment chose instance " + chosen + " of " + open.size());
        }
        return open.get(chosen).index();
    }

    /** Each of {@code open}'s hot leading pages of {@code prompt}, asked all at once; an instance that does not answer counts 0. */
    private int[] hotPages(List<Instance> open, int[] prompt) {
        HotPrefixRequest.Builder request = HotPrefixRequest.newBuilder();
        for (int token : prompt) {
            request.addTokenIds(token);
        }
        HotPrefixRequest built = request.build();
        Duration wait = deadline.compareTo(PROBE_DEADLINE) < 0 ? deadline : PROBE_DEADLINE;
        List<ListenableFuture<HotPrefixResponse>> calls = new ArrayList<>(open.size());
        for (Instance instance : open) {
            calls.add(instance.calls().withDeadlineAfter(wait.toNanos(), TimeUnit.NANOSECONDS).hotPrefix(built));
        }
        int[] pages = new int[open.size()];
        for (int i = 0; i < pages.length; i++) {
            try {
                pages[i] = calls.get(i).get().getPages();   // bounded by the probe's deadline
            } catch (ExecutionException e) {
                LOG.log(System.Logger.Level.WARNING, "hot prefix probe: {0} {1}; placing the sequence as if it held none",
                        describe(open.get(i)), CallFailures.describe(Status.fromThrowable(e.getCause())));
            } catch (InterruptedException e) {
                calls.forEach(call -> call.cancel(true));
                Thread.currentThread().interrupt();
                throw new AttentionInstanceException("interrupted while asking the attention instances for hot pages", List.of());
            }
        }
        return pages;
    }

    private static InstancePageStats pageStats(PageStats p) {
        return new InstancePageStats(p.getPageTokens(), p.getAdmitted(), p.getRestoredTokens(), p.getHotPagesUsed(),
                p.getPoolPagesFetched(), p.getPoolMisses(), p.getFetchFailures(), p.getPagesPublished(), p.getPublishesPresent(),
                p.getPublishFailures(), p.getPublishesDropped(), p.getPublishesPending(), p.getHotPages(), p.getHotBytes(), p.getHotPagesEvicted());
    }

    /** Null when the instance's health check answers SERVING, else what it answered. */
    private static String healthProblem(Instance instance, long end) {
        return DownPeers.healthProblem(instance.health(), AttentionServiceGrpc.SERVICE_NAME, end);
    }

    private static String describe(Instance instance) {
        return "attention instance " + instance.index() + " at " + instance.address();
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AttentionInstanceException("interrupted while waiting for the attention instances to serve", List.of());
        }
    }
}
