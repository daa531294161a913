package io.moefleet.attention;

import com.google.common.util.concurrent.ListenableFuture;
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
import io.moefleet.rpc.CallDeadlines;
import io.moefleet.rpc.CallFailures;
import io.moefleet.rpc.FloatRows;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.instrumentation.grpc.v1_6.GrpcTelemetry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The router's side of the attention instances: each new sequence is assigned to an instance (by a
 * {@link SequenceAssignment}) and stays there, since its latent cache lives there. A new request goes through
 * {@link #admit} (the instance restores the prompt's cached prefix from its hot pages or the KV pool), steps only the
 * rest of the prompt, from the position admit returns, then decodes, then is {@link #release}d. Per layer per step it
 * sends one Attend per instance that holds chunks of the step, to all of them at once, each call under a deadline, and
 * writes the returned o_proj rows back at the chunks' rows. An instance that does not answer fails the step with an
 * {@link AttentionInstanceException} naming it and its address. Not thread-safe: one step at a time, as the model that
 * calls it.
 */
public final class RemoteAttention implements AttentionBackend, AutoCloseable {

    private static final System.Logger LOG = System.getLogger(RemoteAttention.class.getName());
    private static final Duration HEALTH_POLL = Duration.ofMillis(50);
    /** A HotPrefix probe is a hash chain and a map lookup: an instance this slow to answer it is no place for a new sequence. */
    private static final Duration PROBE_DEADLINE = Duration.ofSeconds(2);

    private final int hidden;
    private final List<Instance> instances;
    private final SequenceAssignment assignment;
    private final Duration deadline;
    private final Map<Long, Integer> instanceOfSequence = new HashMap<>();
    private final int[] sequencesOn;
    private long step = -1;
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
        if (addresses.isEmpty()) {
            throw new IllegalArgumentException("no attention instance addresses");
        }
        this.hidden = config.hiddenSize();
        this.assignment = assignment;
        this.deadline = deadline;
        this.sequencesOn = new int[addresses.size()];
        CallDeadlines deadlines = new CallDeadlines(deadline);
        GrpcTelemetry telemetry = GrpcTelemetry.create(openTelemetry);
        List<Instance> opened = new ArrayList<>();
        for (int i = 0; i < addresses.size(); i++) {
            ManagedChannel channel = Grpc.newChannelBuilder(addresses.get(i), InsecureChannelCredentials.create())
                    .directExecutor()   // callbacks only complete a future; the step's thread does the work
                    .maxInboundMessageSize(FloatRows.MAX_MESSAGE_BYTES)
                    .intercept(telemetry.createClientInterceptor(), deadlines)
                    .build();
            opened.add(new Instance(i, addresses.get(i), channel, AttentionServiceGrpc.newFutureStub(channel),
                    AttentionServiceGrpc.newBlockingStub(channel), HealthGrpc.newBlockingStub(channel)));
        }
        this.instances = List.copyOf(opened);
    }

    @Override
    public void attend(int layer, List<StepChunk> chunks, float[][] normed, int total, float[][] out) {
        if (layer == 0) {
            step++;
        }
        int[] instanceOf = new int[chunks.size()];
        for (int c = 0; c < chunks.size(); c++) {
            instanceOf[c] = instanceOf(chunks.get(c));
        }
        List<InstanceBatch> batches = InstanceBatch.split(chunks, instanceOf, instances.size(), layer, step, normed, hidden);
        List<ListenableFuture<AttendResponse>> calls = new ArrayList<>(batches.size());
        for (InstanceBatch batch : batches) {
            calls.add(instances.get(batch.instance()).calls().attend(batch.request()));
        }
        AttendResponse[] responses = new AttendResponse[batches.size()];
        lastSlowestInstanceNanos = 0;
        List<Integer> failed = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            Instance instance = instances.get(batches.get(i).instance());
            try {
                responses[i] = calls.get(i).get();   // bounded by the call's deadline
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
                throw new AttentionInstanceException("layer " + layer + ", step " + step
                        + ": interrupted while waiting for the attention instances", List.of());
            }
        }
        if (!failed.isEmpty()) {
            throw new AttentionInstanceException("layer " + layer + ", step " + step + ": " + String.join("; ", reasons), failed);
        }
        for (int i = 0; i < batches.size(); i++) {
            FloatRows.copyInto(responses[i].getOutput(), batches.get(i).rows(), out, hidden);
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
        if (instanceOfSequence.containsKey(sequence.id())) {
            throw new IllegalStateException("sequence " + sequence.id() + " is held by instance " + instanceOf(sequence)
                    + " already: admit starts a sequence on an instance (release it first to move it)");
        }
        int chosen = assign(prompt);
        Instance instance = instances.get(chosen);
        AdmitRequest.Builder request = AdmitRequest.newBuilder().setSequenceId(sequence.id());
        for (int token : prompt) {
            request.addTokenIds(token);
        }
        AdmitResponse answer;
        try {
            answer = instance.blocking().admit(request.build());
        } catch (StatusRuntimeException e) {
            throw new AttentionInstanceException("admit of sequence " + sequence.id() + ": " + describe(instance) + " "
                    + CallFailures.describe(e.getStatus()), List.of(chosen));
        }
        int cached = answer.getCachedTokens();
        if (cached < 0 || cached >= prompt.length) {
            throw new AttentionInstanceException("admit of sequence " + sequence.id() + ": " + describe(instance)
                    + " answered " + Integer.toUnsignedString(cached) + " cached tokens for a prompt of " + prompt.length,
                    List.of(chosen));
        }
        sequence.resumeAt(cached);
        instanceOfSequence.put(sequence.id(), chosen);
        sequencesOn[chosen]++;
        return cached;
    }

    /** Frees the sequence's cache on its instance and forgets where it was; a sequence never attended is ignored. */
    @Override
    public void release(Sequence sequence) {
        Integer index = instanceOfSequence.remove(sequence.id());
        if (index == null) {
            return;
        }
        sequencesOn[index]--;
        Instance instance = instances.get(index);
        try {
            instance.blocking().release(ReleaseRequest.newBuilder().addSequenceIds(sequence.id()).build());
        } catch (StatusRuntimeException e) {
            throw new AttentionInstanceException("release of sequence " + sequence.id() + ": " + describe(instance) + " "
                    + CallFailures.describe(e.getStatus()), List.of(index));
        }
    }

    /** The instance holding {@code sequence} ({@code -1}: none, never attended or released). */
    public int instanceOf(Sequence sequence) {
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
        for (Instance instance : instances) {
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

    /** Every instance's counters, in instance order. */
    public List<InstanceStats> stats() {
        List<InstanceStats> all = new ArrayList<>();
        for (Instance instance : instances) {
            StatsResponse stats;
            try {
                stats = instance.blocking().stats(StatsRequest.getDefaultInstance());
            } catch (StatusRuntimeException e) {
                throw new AttentionInstanceException("stats: " + describe(instance) + " " + CallFailures.describe(e.getStatus()),
                        List.of(instance.index()));
            }
            all.add(new InstanceStats(instance.index(), instance.address(), stats.getCalls(), stats.getTokenRows(),
                    stats.getSequencesStarted(), stats.getSequencesReleased(), stats.getSequencesHeld(), stats.getCachedPositions(),
                    pageStats(stats.getPages())));
        }
        return all;
    }

    /** Shuts every channel down. */
    @Override
    public void close() {
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
        int chosen = assign(chunk.tokens());
        instanceOfSequence.put(chunk.sequence().id(), chosen);
        sequencesOn[chosen]++;
        return chosen;
    }

    private int assign(int[] prompt) {
        int chosen = assignment.instanceFor(new NewSequence(prompt, sequencesOn, () -> hotPages(prompt)));
        if (chosen < 0 || chosen >= instances.size()) {
            throw new IllegalStateException("the sequence assignment chose instance " + chosen + " of " + instances.size());
        }
        return chosen;
    }

    /** Every instance's hot leading pages of {@code prompt}, asked all at once; an instance that does not answer counts 0. */
    private int[] hotPages(int[] prompt) {
        HotPrefixRequest.Builder request = HotPrefixRequest.newBuilder();
        for (int token : prompt) {
            request.addTokenIds(token);
        }
        HotPrefixRequest built = request.build();
        Duration wait = deadline.compareTo(PROBE_DEADLINE) < 0 ? deadline : PROBE_DEADLINE;
        List<ListenableFuture<HotPrefixResponse>> calls = new ArrayList<>(instances.size());
        for (Instance instance : instances) {
            calls.add(instance.calls().withDeadlineAfter(wait.toNanos(), TimeUnit.NANOSECONDS).hotPrefix(built));
        }
        int[] pages = new int[instances.size()];
        for (int i = 0; i < pages.length; i++) {
            try {
                pages[i] = calls.get(i).get().getPages();   // bounded by the probe's deadline
            } catch (ExecutionException e) {
                LOG.log(System.Logger.Level.WARNING, "hot prefix probe: {0} {1}; placing the sequence as if it held none",
                        describe(instances.get(i)), CallFailures.describe(Status.fromThrowable(e.getCause())));
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
                p.getPublishFailures(), p.getPublishesDropped(), p.getPublishesPending(), p.getHotPages(), p.getHotBytes());
    }

    /** Null when the instance's health check answers SERVING, else what it answered. */
    private static String healthProblem(Instance instance, long end) {
        long wait = Math.clamp(end - System.nanoTime(), HEALTH_POLL.toNanos(), Duration.ofSeconds(1).toNanos());
        try {
            ServingStatus status = instance.health().withDeadlineAfter(wait, TimeUnit.NANOSECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(AttentionServiceGrpc.SERVICE_NAME).build())
                    .getStatus();
            return status == ServingStatus.SERVING ? null : "answers " + status;
        } catch (StatusRuntimeException e) {
            return CallFailures.describe(e.getStatus());
        }
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
