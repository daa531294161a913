package io.moefleet.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.attention.AttentionServer;
import io.moefleet.attention.InstanceSettings;
import io.moefleet.expert.ExpertPlacement;
import io.moefleet.expert.ExpertServer;
import io.moefleet.expert.ShardSettings;
import io.moefleet.model.GoldenData;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.weights.ModelWeights;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code GET /v1/fleet/state} per expert shard: whether it serves, and what it holds even when it does not answer. */
@Timeout(60)
class FleetStateTest {

    private static final Path MODEL = GoldenData.checkpoint("tiny-k2");

    @Test
    void aShardThatStopsAnsweringIsNotServingAndTheOthersStillShow() throws Exception {
        ModelConfig config = ModelConfig.read(MODEL.resolve("config.json"));
        ExpertPlacement placement = ExpertPlacement.spread(config.nRoutedExperts(), 2, 1);
        List<ExpertServer> shards = new ArrayList<>();
        AttentionServer instance = new AttentionServer(new InstanceSettings(MODEL, 0, 1), OpenTelemetry.noop());
        try {
            List<String> addresses = new ArrayList<>();
            for (int s = 0; s < 2; s++) {
                ExpertServer shard = new ExpertServer(new ShardSettings(MODEL, placement, s, 0, 1), OpenTelemetry.noop());
                shards.add(shard);
                shard.start();
                addresses.add("127.0.0.1:" + shard.port());
            }
            instance.start();
            FleetEndpoints endpoints = new FleetEndpoints(List.of("127.0.0.1:" + instance.port()), placement, addresses);
            try (FleetRouter router = FleetRouter.open(endpoints, MODEL, 1, ModelWeights.LoadProgress.NONE, OpenTelemetry.noop())) {
                JsonNode up = new ObjectMapper().readTree(router.stateJson());
                assertEquals(2, up.path("experts").size());
                for (JsonNode shard : up.path("experts")) {
                    assertTrue(shard.path("serving").asBoolean(), shard.toString());
                    assertTrue(shard.path("holds").size() > 0, shard.toString());
                }
                assertTrue(!up.has("experts_error"), up.toString());

                shards.get(1).stop();
                JsonNode down = new ObjectMapper().readTree(router.stateJson());
                assertTrue(down.path("experts_error").asText().contains(addresses.get(1)), down.toString());
                JsonNode first = down.path("experts").get(0);
                JsonNode second = down.path("experts").get(1);
                assertEquals(addresses.get(0), first.path("address").asText());
                assertTrue(first.path("serving").asBoolean(), "asked before the failing one, it answered: " + first);
                assertEquals(addresses.get(1), second.path("address").asText());
                assertTrue(second.path("serving").isBoolean() && !second.path("serving").asBoolean(), second.toString());
                assertEquals("placement", second.path("holds_from").asText());
                int layer = java.util.stream.IntStream.range(0, config.numHiddenLayers()).filter(config::isMoeLayer).findFirst().orElseThrow();
                List<Integer> held = new ArrayList<>();
                second.path("holds").path(Integer.toString(layer)).forEach(e -> held.add(e.asInt()));
                assertEquals(java.util.Arrays.stream(placement.expertsOf(1, layer)).boxed().toList(), held);
            }
        } finally {
            shards.forEach(ExpertServer::stop);
            instance.stop();
        }
    }
}
