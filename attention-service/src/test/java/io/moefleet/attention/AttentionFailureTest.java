package io.moefleet.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import io.moefleet.model.GoldenData;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.proto.attention.AttendRequest;
import io.moefleet.proto.attention.AttendResponse;
import io.moefleet.proto.attention.AttentionServiceGrpc;
import io.moefleet.rpc.ListenPorts;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Attention instances that are not there, die, or hang: the affected step fails fast naming the instance; nothing waits forever. */
@Timeout(30)   // a hang fails the test rather than stalling the build
class AttentionFailureTest {

    private static final Path MODEL = GoldenData.checkpoint("tiny-k2");
    /** An upper bound only: the failures below take milliseconds; a hang would take the call deadline or forever. */
    private static final long FAIL_FAST_MS = 5_000;

    @Test
    void anInstanceStoppedMidRunFailsTheNextStepNamingIt() {
        try (AttentionFleet fleet = AttentionFleet.start(MODEL, 2)) {
            Sequence first = fleet.model.newSequence();
            Sequence second = fleet.model.newSequence();
            fleet.model.step(List.of(StepChunk.next(first, new int[] {1, 2, 3}, false), StepChunk.next(second, new int[] {4, 5}, false)));
            String address = "127.0.0.1:" + fleet.servers.get(1).port();
            fleet.servers.get(1).stop();

            long start = System.nanoTime();
            AttentionInstanceException e = assertThrows(AttentionInstanceException.class, () -> fleet.model.step(
                    List.of(StepChunk.next(first, new int[] {6}, false), StepChunk.next(second, new int[] {7}, false))));
            long tookMs = (System.nanoTime() - start) / 1_000_000;

            assertTrue(tookMs < FAIL_FAST_MS, "the failed step took " + tookMs + " ms");
            assertEquals(List.of(1), e.failedInstances());
            assertTrue(e.getMessage().startsWith("layer 0, step 1: attention instance 1 at " + address + " is unavailable"),
                    e.getMessage());
            // the instance still running serves its sequence on; the stopped one is routed around, a step with its
            // sequence fails at once (the sequence has to move first), and stats leave it out
            fleet.model.step(List.of(StepChunk.next(first, new int[] {6}, false)));
            assertEquals(List.of(1), fleet.attention.instancesDown());
            AttentionInstanceException held = assertThrows(AttentionInstanceException.class,
                    () -> fleet.model.step(List.of(StepChunk.next(second, new int[] {7}, false))));
            assertTrue(held.getMessage().contains("held by attention instance 1 at " + address + ", which failed a call"),
                    held.getMessage());
            assertEquals(List.of(0), fleet.attention.stats().stream().map(InstanceStats::instance).toList());
        }
    }

    @Test
    void anUnreachableInstanceAtStartIsReportedByHealthAndByTheFirstStep() throws IOException {
        String nowhere = "127.0.0.1:" + ListenPorts.take();
        try (AttentionServer instance0 = new AttentionServer(new InstanceSettings(MODEL, 0, 1), OpenTelemetry.noop()).start();
             Checkpoint checkpoint = Checkpoint.open(MODEL);
             Workers workers = new Workers(1);
             RemoteAttention attention = new RemoteAttention(checkpoint.config(), List.of("127.0.0.1:" + instance0.port(), nowhere),
                     new RoundRobinAssignment(), Duration.ofSeconds(10), OpenTelemetry.noop())) {
            AttentionInstanceException notServing = assertThrows(AttentionInstanceException.class,
                    () -> attention.awaitServing(Duration.ofMillis(300)));
            assertEquals(List.of(1), notServing.failedInstances());
            assertTrue(notServing.getMessage().contains("attention instance 1 at " + nowhere + " is unavailable"), notServing.getMessage());
            assertTrue(notServing.getMessage().contains("Connection refused"), notServing.getMessage());

            Transformer model = new Transformer(checkpoint.config(), ModelWeights.load(checkpoint), workers, attention, null);
            long start = System.nanoTime();
            AttentionInstanceException e = assertThrows(AttentionInstanceException.class, () -> model.step(List.of(
                    StepChunk.next(model.newSequence(), new int[] {1, 2, 3}, false),
                    StepChunk.next(model.newSequence(), new int[] {4, 5, 6}, false))));
            long tookMs = (System.nanoTime() - start) / 1_000_000;

            assertTrue(tookMs < FAIL_FAST_MS, "the failed step took " + tookMs + " ms");
            assertEquals(List.of(1), e.failedInstances());
            assertTrue(e.getMessage().startsWith("layer 0, step 0: attention instance 1 at " + nowhere + " is unavailable"), e.getMessage());
        }
    }

    @Test
    void anInstanceThatDoesNotAnswerMeetsTheDeadline() throws Exception {
        List<StreamObserver<AttendResponse>> neverAnswered = new ArrayList<>();
        Server silent = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
                .addService(new AttentionServiceGrpc.AttentionServiceImplBase() {
                    @Override
                    public void attend(AttendRequest request, StreamObserver<AttendResponse> response) {
                        synchronized (neverAnswered) {
                            neverAnswered.add(response);   // held, never completed: a wedged instance
                        }
                    }
                })
                .build()
                .start();
        Duration deadline = Duration.ofMillis(300);
        try (Checkpoint checkpoint = Checkpoint.open(MODEL);
             Workers workers = new Workers(1);
             RemoteAttention attention = new RemoteAttention(checkpoint.config(), List.of("127.0.0.1:" + silent.getPort()),
                     new RoundRobinAssignment(), deadline, OpenTelemetry.noop())) {
            Transformer model = new Transformer(checkpoint.config(), ModelWeights.load(checkpoint), workers, attention, null);
            long start = System.nanoTime();
            AttentionInstanceException e = assertThrows(AttentionInstanceException.class,
                    () -> model.step(List.of(StepChunk.next(model.newSequence(), new int[] {1, 2, 3}, false))));
            long tookMs = (System.nanoTime() - start) / 1_000_000;

            assertTrue(tookMs >= deadline.toMillis() && tookMs < FAIL_FAST_MS, "the step took " + tookMs + " ms");
            assertTrue(e.getMessage().contains("attention instance 0 at 127.0.0.1:" + silent.getPort() + " did not answer in time: "
                    + "DEADLINE_EXCEEDED"), e.getMessage());
            assertEquals(1, neverAnswered.size(), "the call reached the instance");
        } finally {
            silent.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
