package io.moefleet.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.engine.Engine;
import io.moefleet.expert.ShardStats;
import io.moefleet.model.SameBits;
import io.moefleet.model.GoldenData;
import io.moefleet.model.KnifeEdges;
import io.moefleet.model.forward.AttentionBackend;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.sampling.Logits;
import io.opentelemetry.api.OpenTelemetry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Two attention instances against the single-process engine on the golden checkpoints, with the routed experts in the
 * router or on 4 expert shards: three sequences prefilled in one batch (the 215-token golden pass bitwise the engine's
 * logits), then decoded together token by token (the golden greedy continuation, and the engine's for a
 * second prompt), each sequence's chunks on the instance it started on; both instances serve; release frees.
 */
@Timeout(60)   // a hang fails the test rather than stalling the build
class AttentionFleetGoldenTest {

    private static final int GREEDY = 16;

    @ParameterizedTest(name = "{0}, 2 attention instances, {1} expert shard(s)")
    @CsvSource({
        "tiny-k2, 0",
        "tiny-v3, 0",
        "tiny-k2, 4",
        "tiny-v3, 4",
    })
    void twoInstancesMatchTheEngine(String checkpoint, int expertShards) {
        GoldenData.Case golden = GoldenData.forwardCase(checkpoint);
        float[][] engineLogits;
        int[] other;
        int[] otherGreedy;
        try (Engine engine = Engine.open(golden.model(), ModelWeights.LoadProgress.NONE)) {
            engineLogits = engine.logits(golden.inputIds());
            other = KnifeEdges.clearPrompt(engine.model(), 7, 12, GREEDY);
            otherGreedy = KnifeEdges.greedy(engine.model(), other, GREEDY).greedy();
        }
        List<Long> attendNanos = new ArrayList<>();
        try (AttentionFleet fleet = AttentionFleet.start(golden.model(), 2, expertShards, OpenTelemetry.noop(), OpenTelemetry.noop(),
                backend -> timed(backend, attendNanos))) {
            Sequence pass = fleet.model.newSequence();
            Sequence prompt = fleet.model.newSequence();
            Sequence second = fleet.model.newSequence();
            List<float[][]> prefill = fleet.model.step(List.of(
                    StepChunk.next(pass, golden.inputIds(), true),
                    StepChunk.next(prompt, golden.prompt(), false),
                    StepChunk.next(second, other, false)));
            SameBits.assertRows(engineLogits, prefill.getFirst(), "the fleet's logits against the engine's");
            assertEquals(List.of(0, 1, 0), List.of(fleet.attention.instanceOf(pass), fleet.attention.instanceOf(prompt),
                    fleet.attention.instanceOf(second)), "round robin over the instances");

            fleet.model.release(pass);
            assertEquals(-1, fleet.attention.instanceOf(pass));

            int[][] greedy = new int[2][GREEDY];
            float[] logitsPrompt = prefill.get(1)[0];
            float[] logitsSecond = prefill.get(2)[0];
            attendNanos.clear();   // decode steps only, from here
            for (int i = 0; i < GREEDY; i++) {
                greedy[0][i] = Logits.argmax(logitsPrompt);
                greedy[1][i] = Logits.argmax(logitsSecond);
                if (i + 1 < GREEDY) {
                    List<float[][]> step = fleet.model.step(List.of(StepChunk.next(prompt, new int[] {greedy[0][i]}, false),
                            StepChunk.next(second, new int[] {greedy[1][i]}, false)));
                    logitsPrompt = step.get(0)[0];
                    logitsSecond = step.get(1)[0];
                }
            }
            assertArrayEquals(golden.greedy(), greedy[0], "greedy ids against the golden data");
            assertArrayEquals(otherGreedy, greedy[1], "greedy ids of a second prompt against the engine");
            assertEquals(1, fleet.attention.instanceOf(prompt), "decode chunks stay on the instance that holds the cache");
            assertEquals(0, fleet.attention.instanceOf(second));

            List<InstanceStats> stats = fleet.attention.stats();
            int layers = fleet.model.config().numHiddenLayers();
            int decoded = GREEDY - 1;
            // instance 0: the golden pass (released) and the second prompt; instance 1: the golden prompt
            assertEquals(new InstanceStats(0, stats.get(0).address(), (1 + decoded) * layers,
                    (long) (golden.inputIds().length + other.length + decoded) * layers, 2, 1, 1, other.length + decoded,
                    stats.get(0).kvCapacityPositions(), InstancePageStats.NONE), stats.get(0));
            assertEquals(new InstanceStats(1, stats.get(1).address(), (1 + decoded) * layers,
                    (long) (golden.prompt().length + decoded) * layers, 1, 0, 1, golden.prompt().length + decoded,
                    stats.get(1).kvCapacityPositions(), InstancePageStats.NONE), stats.get(1));
            assertTrue(stats.get(0).kvCapacityPositions() > 1000, "positions that fit: " + stats.get(0).kvCapacityPositions());
            if (fleet.experts != null) {
                for (ShardStats shard : fleet.experts.stats()) {
                    assertTrue(shard.calls() > 0, "expert shard " + shard.shard() + " served no call");
                }
            }
            System.err.printf("%s, %d shard(s): per-layer Attend of a 2-sequence decode step over 2 instances, p50 %d us%n",
                    checkpoint, expertShards, median(attendNanos) / 1000);

            fleet.model.release(prompt);
            fleet.model.release(second);
            for (InstanceStats instance : fleet.attention.stats()) {
                assertEquals(0, instance.sequencesHeld(), "instance " + instance.instance() + " freed its sequences");
                assertEquals(0, instance.cachedPositions());
            }
            // a released sequence's next chunk has no cache anywhere: a clear refusal, not a silent restart
            AttentionInstanceException e = assertThrows(AttentionInstanceException.class,
                    () -> fleet.model.step(List.of(StepChunk.next(prompt, new int[] {greedy[0][GREEDY - 1]}, false))));
            assertTrue(e.getMessage().contains("sequence " + prompt.id() + " is not held here"), e.getMessage());
        }
    }

    /** The backend, timing each layer's call. */
    private static AttentionBackend timed(AttentionBackend backend, List<Long> nanos) {
        return new AttentionBackend() {
            @Override
            public void beginStep(List<StepChunk> chunks) {
                backend.beginStep(chunks);
            }

            @Override
            public Pending begin(int layer, List<StepChunk> chunks, float[][] normed, int total, float[][] out) {
                long start = System.nanoTime();
                Pending call = backend.begin(layer, chunks, normed, total, out);
                return () -> {
                    call.await();
                    nanos.add(System.nanoTime() - start);
                };
            }

            @Override
            public void release(Sequence sequence) {
                backend.release(sequence);
            }
        };
    }

    private static long median(List<Long> values) {
        long[] sorted = values.stream().mapToLong(Long::longValue).sorted().toArray();
        return sorted[sorted.length / 2];
    }
}
