package io.moefleet.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.attention.AttentionServer;
import io.moefleet.attention.InstanceSettings;
import io.moefleet.engine.Engine;
import io.moefleet.expert.ExpertPlacement;
import io.moefleet.expert.ExpertServer;
import io.moefleet.expert.ShardSettings;
import io.moefleet.model.GoldenData;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.sampling.Logits;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The router follows its fleet's configuration folder: it does not switch to a placement whose shards do not hold
 * their parts, switches once they do, and a sequence running across the switch keeps the engine's logits bit for bit.
 */
@Timeout(120)
class FleetConfigWatchTest {

    @TempDir
    Path folder;

    @Test
    void switchesToANewPlacementOnlyOnceItsShardsHoldTheirExperts() throws Exception {
        GoldenData.Case golden = GoldenData.forwardCase("tiny-v3");
        int experts = ModelConfig.read(golden.model().resolve("config.json")).nRoutedExperts();
        List<ExpertServer> newShards = new ArrayList<>();
        try (InProcessFleet fleet = InProcessFleet.start(golden.model(), 2, 1, OpenTelemetry.noop(), OpenTelemetry.noop())) {
            FleetConfigWatch watch = fleet.router.watcher(folder);
            ExpertPlacement before = fleet.endpoints.placement();
            write(fleet.endpoints.attentionAddresses(), before, fleet.endpoints.expertAddresses());
            watch.check();
            assertEquals(before.toJson(), fleet.router.shards().current().placement().toJson(), "the same configuration changes nothing");

            // the same two shards listed with experts they do not hold: the router must not route by it
            List<List<Integer>> swapped = List.of(range(experts / 2, experts), range(0, experts / 2));
            write(fleet.endpoints.attentionAddresses(), ExpertPlacement.of(experts, swapped, new java.util.TreeMap<>()),
                    fleet.endpoints.expertAddresses());
            watch.check();
            assertEquals(before.toJson(), fleet.router.shards().current().placement().toJson(),
                    "switched to a placement whose shards lack their experts");
            assertArrayEquals(golden.greedy(), fleet.router.greedy(golden.prompt(), golden.greedy().length));

            // a sequence that starts on two shards and goes on over three, after the switch below
            Transformer model = fleet.router.transformer();
            Sequence across = model.newSequence();
            List<float[]> acrossLogits = new ArrayList<>();
            List<int[]> acrossTokens = new ArrayList<>();
            int[] next = golden.prompt();
            for (int step = 0; step < 3; step++) {
                acrossTokens.add(next);
                acrossLogits.add(fleet.router.step(List.of(StepChunk.next(across, next, false))).getFirst()[0]);
                next = new int[] {Logits.argmax(acrossLogits.getLast())};
            }

            // three new shards that hold a three-way placement: the router switches and its tokens stay the engine's
            ExpertPlacement after = ExpertPlacement.spread(experts, 3, 1);
            List<String> addresses = new ArrayList<>();
            for (int s = 0; s < 3; s++) {
                ExpertServer shard = new ExpertServer(new ShardSettings(golden.model(), after, s, 0, 1), OpenTelemetry.noop());
                newShards.add(shard);
                shard.start();
                addresses.add("127.0.0.1:" + shard.port());
            }
            write(fleet.endpoints.attentionAddresses(), after, addresses);
            watch.check();
            assertEquals(after.toJson(), fleet.router.shards().current().placement().toJson());
            assertEquals(addresses, fleet.router.shards().current().addresses());
            assertArrayEquals(golden.greedy(), fleet.router.greedy(golden.prompt(), golden.greedy().length));
            for (int step = 0; step < 3; step++) {
                acrossTokens.add(next);
                acrossLogits.add(fleet.router.step(List.of(StepChunk.next(across, next, false))).getFirst()[0]);
                next = new int[] {Logits.argmax(acrossLogits.getLast())};
            }
            model.release(across);
            try (Engine engine = Engine.open(golden.model(), ModelWeights.LoadProgress.NONE)) {
                Sequence alone = engine.model().newSequence();
                for (int step = 0; step < acrossTokens.size(); step++) {
                    assertArrayEquals(engine.model().step(List.of(StepChunk.next(alone, acrossTokens.get(step), false))).getFirst()[0],
                            acrossLogits.get(step), "step " + step + " of a sequence whose experts moved from 2 shards to 3 "
                                    + "after step 2: the engine's logits bit for bit");
                }
            }

            JsonNode state = new ObjectMapper().readTree(fleet.router.stateJson());
            assertEquals(3, state.path("placement").path("shards").size());
            assertEquals(3, state.path("experts").size());
            for (JsonNode shard : state.path("experts")) {
                assertTrue(shard.path("calls").asLong() > 0, "shard " + shard.path("shard") + " got no call after the switch");
                assertTrue(shard.path("holds").size() > 0);
            }
            long routed = 0;
            for (JsonNode layer : state.path("expert_load")) {
                for (JsonNode tokens : layer) {
                    routed += tokens.asLong();
                }
            }
            assertTrue(routed > 0, "the router counts the tokens it sends to each expert");
        } finally {
            newShards.forEach(ExpertServer::stop);
        }
    }

    @Test
    void newAttentionInstancesTakeNewSequencesAndUnlistedOnesTakeNone() throws Exception {
        GoldenData.Case golden = GoldenData.forwardCase("tiny-v3");
        AttentionServer added = new AttentionServer(new InstanceSettings(golden.model(), 0, 1), OpenTelemetry.noop());
        try (InProcessFleet fleet = InProcessFleet.start(golden.model(), 2, 1, OpenTelemetry.noop(), OpenTelemetry.noop())) {
            added.start();
            String first = fleet.endpoints.attentionAddresses().getFirst();
            String second = "127.0.0.1:" + added.port();
            FleetConfigWatch watch = fleet.router.watcher(folder);

            write(List.of(first, second), fleet.endpoints.placement(), fleet.endpoints.expertAddresses());
            watch.check();
            assertArrayEquals(golden.greedy(), fleet.router.greedy(golden.prompt(), golden.greedy().length));
            JsonNode state = new ObjectMapper().readTree(fleet.router.stateJson());
            assertEquals(2, state.path("attention").size());
            assertTrue(state.path("attention").get(1).path("accepting").asBoolean());

            // the first instance is no longer listed: new sequences go to the second, and tokens stay the engine's
            write(List.of(second), fleet.endpoints.placement(), fleet.endpoints.expertAddresses());
            watch.check();
            long firstCalls = attentionCalls(fleet, first);
            long secondCalls = attentionCalls(fleet, second);
            assertArrayEquals(golden.greedy(), fleet.router.greedy(golden.prompt(), golden.greedy().length));
            assertEquals(firstCalls, attentionCalls(fleet, first), "an unlisted instance got a new sequence");
            assertTrue(attentionCalls(fleet, second) > secondCalls, "the listed instance got none");
            JsonNode after = new ObjectMapper().readTree(fleet.router.stateJson());
            assertEquals(false, after.path("attention").get(0).path("accepting").asBoolean());
            assertEquals(0, after.path("attention").get(0).path("sequences").asInt(), "it holds no sequence: it may go");
            assertTrue(after.path("attention").get(1).path("kv_capacity_positions").asLong() > 0,
                    "the fleet controller sees how full each KV cache is: " + after.path("attention"));
        } finally {
            added.stop();
        }
    }

    /** Calls the attention instance at {@code address} has answered, by its own count. */
    private static long attentionCalls(InProcessFleet fleet, String address) {
        try (io.moefleet.attention.RemoteAttention probe = new io.moefleet.attention.RemoteAttention(
                ModelConfig.read(GoldenData.checkpoint("tiny-v3").resolve("config.json")), List.of(address),
                new io.moefleet.attention.LongestPrefixAssignment(), java.time.Duration.ofSeconds(5), OpenTelemetry.noop())) {
            return probe.stats().getFirst().calls();
        }
    }

    private void write(List<String> attention, ExpertPlacement placement, List<String> experts) throws Exception {
        ObjectMapper json = new ObjectMapper();
        var endpoints = json.createObjectNode();
        attention.forEach(endpoints.putArray("attention")::add);
        experts.forEach(endpoints.putArray("experts")::add);
        Files.writeString(folder.resolve(FleetEndpoints.ENDPOINTS_FILE), endpoints.toString());
        Files.writeString(folder.resolve(FleetEndpoints.PLACEMENT_FILE), placement.toJson());
    }

    private static List<Integer> range(int from, int to) {
        List<Integer> experts = new ArrayList<>();
        for (int e = from; e < to; e++) {
            experts.add(e);
        }
        return experts;
    }
}
