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
import io.moefleet.proto.attention.AttendResponse;
import io.moefleet.proto.attention.AttentionServiceGrpc;
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
 * {@link SequenceAssignment}) and stays there, since its latent cache lives there. Per layer per step it sends one
 * Attend per instance that holds chunks of the step, to all of them at once, each call under a deadline, and writes the
 * returned o_proj rows back at the chunks' rows. An instance that does not answer fails the step with an
 * {@link AttentionInstanceException} naming it and its address. Not thread-safe: one step at a time, as the model that
 * calls it.
 */
public final class RemoteAttention implements AttentionBackend, AutoCloseable {

    private static final Duration HEALTH_POLL = Duration.ofMillis(50);

    private final int hidden;
    private final List<Instance> instances;
    private final SequenceAssignment assignment;
    private final Map<Long, Integer> instanceOfSequence = new HashMap<>();
    private long step = -1;

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
        List<Integer> failed = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            Instance instance = instances.get(batches.get(i).instance());
            try {
                responses[i] = calls.get(i).get();   // bounded by the call's deadline
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

    /** Frees the sequence's cache on its instance and forgets where it was; a sequence never attended is ignored. */
    @Override
    public void release(Sequence sequence) {
        Integer index = instanceOfSequence.remove(sequence.id());
        if (index == null) {
            return;
        }
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
                    stats.getSequencesStarted(), stats.getSequencesReleased(), stats.getSequencesHeld(), stats.getCachedPositions()));
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

    /** The chunk's sequence's instance, assigning a new sequence on first sight. */
    private int instanceOf(StepChunk chunk) {
        Integer known = instanceOfSequence.get(chunk.sequence().id());
        if (known != null) {
            return known;
        }
        int chosen = assignment.instanceFor(chunk, instances.size());
        if (chosen < 0 || chosen >= instances.size()) {
            throw new IllegalStateException("the sequence assignment chose instance " + chosen + " of " + instances.size());
        }
        instanceOfSequence.put(chunk.sequence().id(), chosen);
        return chosen;
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
