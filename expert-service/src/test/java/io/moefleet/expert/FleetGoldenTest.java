package io.moefleet.expert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.engine.Engine;
import io.moefleet.model.GoldenData;
import io.moefleet.model.KnifeEdges;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.SameBits;
import io.moefleet.model.weights.ModelWeights;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The fleet against the single-process engine on the golden checkpoints: a 215-token prompt pass bitwise the engine's
 * logits (the shards answer each expert's output and the router sums them as the engine does, whatever the placement), the golden greedy continuation token for token, and every shard and every replica of every expert
 * serving traffic.
 */
class FleetGoldenTest {

    private static final int GREEDY = 16;

    /** The engine's answers per checkpoint, computed once. */
    private record EngineRun(float[][] logits, int[] greedy) {}

    private static final Map<String, EngineRun> ENGINE = new HashMap<>();

    @ParameterizedTest(name = "{0}, {1} shard(s) x {2} replica(s)")
    @CsvSource({
        "tiny-k2, 1, 1",
        "tiny-k2, 4, 1",
        "tiny-k2, 4, 2",
        "tiny-v3, 1, 1",
        "tiny-v3, 4, 1",
        "tiny-v3, 4, 2",
        "tiny-k2-fp8, 4, 2",
    })
    void fleetMatchesTheEngine(String checkpoint, int shards, int replicas) {
        GoldenData.Case golden = GoldenData.forwardCase(checkpoint);
        EngineRun engine = engineRun(golden);
        ModelConfig config = ModelConfig.read(golden.model().resolve("config.json"));
        int moeLayers = (int) IntStream.range(0, config.numHiddenLayers()).filter(config::isMoeLayer).count();
        ExpertPlacement placement = ExpertPlacement.spread(config.nRoutedExperts(), shards, replicas);
        try (LocalFleet fleet = LocalFleet.start(golden.model(), placement)) {
            float[][] logits = fleet.logits(golden.inputIds());
            KnifeEdges.Report greedy = KnifeEdges.greedy(fleet.model, golden.prompt(), GREEDY);

            SameBits.assertRows(engine.logits(), logits, "the fleet's logits against the engine's");
            assertArrayEquals(golden.greedy(), greedy.greedy(), "greedy ids against the golden data");
            assertArrayEquals(engine.greedy(), greedy.greedy(), "greedy ids against the engine");

            List<ShardStats> stats = fleet.experts.stats();
            assertEquals(shards, stats.size());
            long picks = 0;
            Map<String, Integer> servingReplicas = new HashMap<>();
            for (ShardStats shard : stats) {
                assertTrue(shard.calls() > 0, "shard " + shard.shard() + " served no call");
                for (ShardStats.ExpertTokens expert : shard.experts()) {
                    assertTrue(placement.holds(shard.shard(), expert.layer(), expert.expert()));
                    if (replicas == 1) {
                        assertTrue(expert.tokens() > 0, "shard " + shard.shard() + ": layer " + expert.layer() + " expert "
                                + expert.expert() + " served no token");
                    }
                    if (expert.tokens() > 0) {
                        servingReplicas.merge(expert.layer() + ":" + expert.expert(), 1, Integer::sum);
                    }
                    picks += expert.tokens();
                }
                // every MoE layer's share of the placement, and nothing else
                assertEquals(moeLayers * placement.expertsOf(shard.shard(), config.firstKDenseReplace()).length,
                        shard.experts().size());
            }
            if (replicas > 1) {
                // the shards share an expert's steps by their load (ShardBatch.assign), so which replica answers changes
                // from step to step: the bits above are the same whichever did
                long servedByTwo = servingReplicas.values().stream().filter(count -> count >= 2).count();
                assertTrue(4 * servedByTwo >= 3 * servingReplicas.size(), servedByTwo + " of " + servingReplicas.size()
                        + " experts were served by more than one of their replicas");
            }
            // the prompt pass, the greedy prompt and its decode steps: each token's top-k experts in each MoE layer
            long tokens = golden.inputIds().length + golden.prompt().length + GREEDY - 1;
            assertEquals(tokens * config.numExpertsPerTok() * moeLayers, picks, "(token, expert) pairs served over all shards");
        }
    }

    private static synchronized EngineRun engineRun(GoldenData.Case golden) {
        return ENGINE.computeIfAbsent(golden.name(), name -> {
            try (Engine engine = Engine.open(golden.model(), ModelWeights.LoadProgress.NONE)) {
                return new EngineRun(engine.logits(golden.inputIds()), KnifeEdges.greedy(engine.model(), golden.prompt(), GREEDY).greedy());
            }
        });
    }
}
