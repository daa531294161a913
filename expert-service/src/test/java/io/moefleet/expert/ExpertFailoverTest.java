package io.moefleet.expert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.engine.Engine;
import io.moefleet.model.GoldenData;
import io.moefleet.model.KnifeEdges;
import io.moefleet.model.SameBits;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every routed expert on two shards: a shard that dies loses no step. Its experts go again to their replicas within the
 * same step (bitwise the undisturbed step's logits, and the engine's), later steps route around it, and it is used again
 * once it serves.
 */
@Timeout(120)
class ExpertFailoverTest {

    private static final Path MODEL = GoldenData.checkpoint("tiny-k2");
    /** Four shards, each expert on two: shards 0 and 2 hold experts 0-7, shards 1 and 3 experts 8-15. */
    private static final ExpertPlacement TWO_REPLICAS = ExpertPlacement.spread(16, 4, 2);

    @Test
    void aDeadShardsCallGoesToAReplicaWithinTheStepAndTheLogitsAreBitwiseTheUndisturbedOnes() {
        GoldenData.Case golden = GoldenData.forwardCase("tiny-k2");
        float[][] undisturbed;
        float[] undisturbedNext;
        try (LocalFleet fleet = LocalFleet.start(MODEL, TWO_REPLICAS)) {
            undisturbed = fleet.logits(golden.inputIds());
            undisturbedNext = nextStep(fleet, golden);
        }
        try (LocalFleet fleet = LocalFleet.start(MODEL, TWO_REPLICAS)) {
            fleet.servers.get(1).stop();
            float[][] retried = fleet.logits(golden.inputIds());   // the same step numbers: the same calls, one of them retried
            assertEquals(undisturbed.length, retried.length);
            for (int t = 0; t < undisturbed.length; t++) {
                assertArrayEquals(undisturbed[t], retried[t], "position " + t + ": not bitwise the undisturbed step");
            }
            assertTrue(fleet.experts.retries() > 0, "a call was sent again");
            assertEquals(List.of(1), fleet.experts.shardsDown());
            // the next step sends the down shard's calls whole to its replica: bitwise still
            assertArrayEquals(undisturbedNext, nextStep(fleet, golden), "the step after the failure is not bitwise the undisturbed one");

            // later steps route around it, and a greedy run gives the golden tokens
            assertArrayEquals(golden.greedy(), KnifeEdges.greedy(fleet.model, golden.prompt(), golden.greedy().length).greedy());
        }
    }

    @Test
    void aDeadShardsExpertsHeldByDifferentReplicasGoToThemWithinTheStepBitwise() {
        GoldenData.Case golden = GoldenData.forwardCase("tiny-k2");
        // no shard holds all of shard 0's experts: shard 2 has 0-3 of them, shard 3 has 4-7
        ExpertPlacement crossed = ExpertPlacement.of(16, List.of(range(0, 8), range(8, 16),
                List.of(0, 1, 2, 3, 8, 9, 10, 11), List.of(4, 5, 6, 7, 12, 13, 14, 15)), new java.util.TreeMap<>());
        float[][] engineLogits;
        try (Engine engine = Engine.open(MODEL, ModelWeights.LoadProgress.NONE)) {
            engineLogits = engine.logits(golden.inputIds());
        }
        try (LocalFleet fleet = LocalFleet.start(MODEL, crossed)) {
            fleet.servers.get(0).stop();
            float[][] retried = fleet.logits(golden.inputIds());
            SameBits.assertRows(engineLogits, retried, "shard 0's experts computed by shards 2 and 3 within the step");
            assertTrue(fleet.experts.retries() >= 2, "shard 0's call went on in parts: " + fleet.experts.retries());
            assertEquals(List.of(0), fleet.experts.shardsDown());
            assertArrayEquals(golden.greedy(), KnifeEdges.greedy(fleet.model, golden.prompt(), golden.greedy().length).greedy());
        }
    }

    private static List<Integer> range(int from, int to) {
        return java.util.stream.IntStream.range(from, to).boxed().toList();
    }

    /** A prompt step then one decode step on a new sequence: the decode step's logits. */
    private static float[] nextStep(LocalFleet fleet, GoldenData.Case golden) {
        Sequence sequence = fleet.model.newSequence();
        fleet.model.step(List.of(StepChunk.next(sequence, golden.prompt(), false)));
        return fleet.model.step(List.of(StepChunk.next(sequence, new int[] {golden.greedy()[0]}, false))).getFirst()[0];
    }

    @Test
    void aShardThatServesAgainIsUsedAgain() throws Exception {
        GoldenData.Case golden = GoldenData.forwardCase("tiny-k2");
        try (LocalFleet fleet = LocalFleet.start(MODEL, TWO_REPLICAS)) {
            int port = fleet.servers.get(3).port();
            fleet.servers.get(3).stop();
            Sequence sequence = fleet.model.newSequence();
            fleet.model.step(List.of(StepChunk.next(sequence, golden.prompt(), false)));
            assertEquals(List.of(3), fleet.experts.shardsDown());

            ExpertServer again = new ExpertServer(new ShardSettings(MODEL, TWO_REPLICAS, 3, port, 1), OpenTelemetry.noop()).start();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                int token = golden.greedy()[0];
                while (!fleet.experts.shardsDown().isEmpty() && System.nanoTime() < deadline) {
                    fleet.model.step(List.of(StepChunk.next(sequence, new int[] {token}, false)));
                    Thread.sleep(200);
                }
                assertEquals(List.of(), fleet.experts.shardsDown(), "the shard serves again but is still routed around");
                fleet.model.step(List.of(StepChunk.next(sequence, new int[] {token}, false)));
                fleet.model.step(List.of(StepChunk.next(sequence, new int[] {token}, false)));
                assertTrue(fleet.experts.stats().get(3).calls() > 0, "the shard that came back got calls");
            } finally {
                again.stop();
            }
        }
    }

    @Test
    void aSlowShardsCallsAreHedgedToAReplicaAndTheLogitsStayBitwise() throws Exception {
        GoldenData.Case golden = GoldenData.forwardCase("tiny-k2");
        float[][] undisturbed;
        try (LocalFleet fleet = LocalFleet.start(MODEL, TWO_REPLICAS)) {
            warmUp(fleet, golden);   // the same steps before: replicas take turns by step
            undisturbed = fleet.logits(golden.inputIds());
        }
        SlowLink[] link = new SlowLink[1];
        try (LocalFleet fleet = LocalFleet.start(MODEL, TWO_REPLICAS, Duration.ofSeconds(10), OpenTelemetry.noop(),
                OpenTelemetry.noop(), (shard, address) -> shard == 1 ? relay(link, address) : address)) {
            fleet.experts.hedgeAfter(90);
            warmUp(fleet, golden);   // enough calls timed for a percentile
            long wonBefore = fleet.experts.hedgesWon();   // a tenth of the calls are beyond the 90th percentile already

            link[0].delay(2_000);   // shard 1 stalls without failing: its health would still answer, only late
            float[][] hedged = fleet.logits(golden.inputIds());

            for (int t = 0; t < undisturbed.length; t++) {
                assertArrayEquals(undisturbed[t], hedged[t], "position " + t + ": not bitwise the undisturbed step");
            }
            assertTrue(fleet.experts.hedgesWon() > wonBefore, "shard 3 answered shard 1's calls first: " + fleet.experts.hedges()
                    + " hedged");
            assertEquals(List.of(), fleet.experts.shardsDown(), "a slow shard is not a failed one");
        } finally {
            if (link[0] != null) {
                link[0].close();
            }
        }
    }

    /** A prompt step and 40 decode steps. */
    private static void warmUp(LocalFleet fleet, GoldenData.Case golden) {
        Sequence sequence = fleet.model.newSequence();
        fleet.model.step(List.of(StepChunk.next(sequence, golden.prompt(), false)));
        for (int i = 0; i < 40; i++) {
            fleet.model.step(List.of(StepChunk.next(sequence, new int[] {golden.greedy()[0]}, false)));
        }
    }

    private static String relay(SlowLink[] link, String address) {
        try {
            link[0] = new SlowLink(address);
            return link[0].address();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void withBothReplicasOfAnExpertDownTheStepFailsNamingThem() {
        GoldenData.Case golden = GoldenData.forwardCase("tiny-k2");
        try (LocalFleet fleet = LocalFleet.start(MODEL, TWO_REPLICAS)) {
            fleet.servers.get(0).stop();
            fleet.servers.get(2).stop();
            ExpertShardException failure = assertThrows(ExpertShardException.class, () -> fleet.logits(golden.inputIds()));
            assertTrue(failure.failedShards().contains(0) || failure.failedShards().contains(2), failure.getMessage());
            assertTrue(failure.getMessage().matches("(?s).*layer 1 expert \\d+ has no replica up \\(held by shard\\(s\\) 0, 2, all down\\).*"),
                    failure.getMessage());
            ExpertShardException next = assertThrows(ExpertShardException.class, () -> fleet.logits(golden.inputIds()));
            assertTrue(next.getMessage().matches("(?s).*expert \\d+ has no replica up \\(held by shard\\(s\\) 0, 2, all down\\).*"),
                    next.getMessage());
            assertEquals(List.of(0, 2), next.failedShards());
        }
    }
}
