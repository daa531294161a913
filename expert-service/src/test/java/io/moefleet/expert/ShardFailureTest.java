package io.moefleet.expert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import io.moefleet.model.GoldenData;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.proto.expert.ExpertServiceGrpc;
import io.moefleet.proto.expert.ForwardRequest;
import io.moefleet.proto.expert.ForwardResponse;
import io.moefleet.proto.expert.StatsRequest;
import io.moefleet.proto.expert.StatsResponse;
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

/** Shards that are not there, die, or hang: the affected step fails fast with the shard named; nothing waits forever. */
@Timeout(30)   // a hang fails the test rather than stalling the build
class ShardFailureTest {

    private static final Path MODEL = GoldenData.checkpoint("tiny-k2");
    /** An upper bound only: the failures below take milliseconds; a hang would take the call deadline or forever. */
    private static final long FAIL_FAST_MS = 5_000;

    @Test
    void theFailedShardsAreNamedOnceInAscendingOrder() {
        ExpertShardException e = new ExpertShardException("layer 3: shards 2 and 0 failed", List.of(2, 0, 2));
        assertEquals(List.of(0, 2), e.failedShards());
    }

    @Test
    void aShardStoppedMidRunFailsTheNextStepNamingIt() {
        GoldenData.Case golden = GoldenData.forwardCase("tiny-k2");
        try (LocalFleet fleet = LocalFleet.start(MODEL, ExpertPlacement.spread(16, 4, 1))) {
            Sequence sequence = fleet.model.newSequence();
            fleet.model.step(List.of(StepChunk.next(sequence, golden.prompt(), false)));
            String address = "127.0.0.1:" + fleet.servers.get(2).port();
            fleet.servers.get(2).stop();

            long start = System.nanoTime();
            ExpertShardException e = assertThrows(ExpertShardException.class,
                    () -> fleet.model.step(List.of(StepChunk.next(sequence, new int[] {golden.greedy()[0]}, false))));
            long tookMs = (System.nanoTime() - start) / 1_000_000;

            assertTrue(tookMs < FAIL_FAST_MS, "the failed step took " + tookMs + " ms");
            assertEquals(List.of(2), e.failedShards());
            assertTrue(e.getMessage().contains("expert shard 2 at " + address + " is unavailable"), e.getMessage());
            for (int s : new int[] {0, 1, 3}) {
                assertTrue(stats(fleet.servers.get(s)).getCalls() > 0, "shard " + s + " still answers");
            }
        }
    }

    @Test
    void anUnreachableShardAtStartIsReportedByHealthAndByTheFirstStep() throws IOException {
        String nowhere = "127.0.0.1:" + ListenPorts.take();
        ExpertPlacement placement = ExpertPlacement.spread(16, 2, 1);
        try (ExpertServer shard0 = new ExpertServer(new ShardSettings(MODEL, placement, 0, 0, 1), OpenTelemetry.noop()).start();
             Checkpoint checkpoint = Checkpoint.open(MODEL);
             Workers workers = new Workers(1);
             RemoteExperts experts = new RemoteExperts(checkpoint.config(), placement,
                     List.of("127.0.0.1:" + shard0.port(), nowhere), Duration.ofSeconds(10), OpenTelemetry.noop())) {
            ExpertShardException notServing = assertThrows(ExpertShardException.class, () -> experts.awaitServing(Duration.ofMillis(300)));
            assertEquals(List.of(1), notServing.failedShards());
            assertTrue(notServing.getMessage().contains("expert shard 1 at " + nowhere + " is unavailable"), notServing.getMessage());
            assertTrue(notServing.getMessage().contains("Connection refused"), notServing.getMessage());

            Transformer model = new Transformer(checkpoint.config(), ModelWeights.load(checkpoint), workers, null, experts);
            long start = System.nanoTime();
            ExpertShardException e = assertThrows(ExpertShardException.class,
                    () -> model.step(List.of(StepChunk.next(model.newSequence(), new int[] {1, 2, 3, 4, 5, 6, 7, 8}, false))));
            long tookMs = (System.nanoTime() - start) / 1_000_000;

            assertTrue(tookMs < FAIL_FAST_MS, "the failed step took " + tookMs + " ms");
            assertEquals(List.of(1), e.failedShards());
            assertTrue(e.getMessage().startsWith("layer 1, step 0: expert shard 1 at " + nowhere + " is unavailable"), e.getMessage());
        }
    }

    @Test
    void aShardThatDoesNotAnswerMeetsTheDeadline() throws Exception {
        List<StreamObserver<ForwardResponse>> neverAnswered = new ArrayList<>();
        Server silent = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
                .addService(new ExpertServiceGrpc.ExpertServiceImplBase() {
                    @Override
                    public void forward(ForwardRequest request, StreamObserver<ForwardResponse> response) {
                        synchronized (neverAnswered) {
                            neverAnswered.add(response);   // held, never completed: a wedged shard
                        }
                    }
                })
                .build()
                .start();
        ExpertPlacement placement = ExpertPlacement.spread(16, 1, 1);
        Duration deadline = Duration.ofMillis(300);
        try (Checkpoint checkpoint = Checkpoint.open(MODEL);
             Workers workers = new Workers(1);
             RemoteExperts experts = new RemoteExperts(checkpoint.config(), placement, List.of("127.0.0.1:" + silent.getPort()),
                     deadline, OpenTelemetry.noop())) {
            Transformer model = new Transformer(checkpoint.config(), ModelWeights.load(checkpoint), workers, null, experts);
            long start = System.nanoTime();
            ExpertShardException e = assertThrows(ExpertShardException.class,
                    () -> model.step(List.of(StepChunk.next(model.newSequence(), new int[] {1, 2, 3}, false))));
            long tookMs = (System.nanoTime() - start) / 1_000_000;

            assertTrue(tookMs >= deadline.toMillis() && tookMs < FAIL_FAST_MS, "the step took " + tookMs + " ms");
            assertTrue(e.getMessage().contains("expert shard 0 at 127.0.0.1:" + silent.getPort() + " did not answer in time: "
                    + "DEADLINE_EXCEEDED"), e.getMessage());
            assertEquals(1, neverAnswered.size(), "the call reached the shard");
        } finally {
            silent.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static StatsResponse stats(ExpertServer server) {
        ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + server.port(), InsecureChannelCredentials.create()).build();
        try {
            return ExpertServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS).stats(StatsRequest.getDefaultInstance());
        } finally {
            channel.shutdownNow();
        }
    }
}
