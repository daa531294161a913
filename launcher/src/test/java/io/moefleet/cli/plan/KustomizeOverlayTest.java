package io.moefleet.cli.plan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.expert.ExpertPlacement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KustomizeOverlayTest {

    @TempDir
    Path dir;

    @Test
    void withoutRedundancyThePlacementIsTheEvenRule() throws IOException {
        // 90 GiB GPUs hold 24 experts at 128K but not a 25th (MemoryPlanTest)
        MemoryPlan plan = MemoryPlan.of(WeightBytesTest.k2(), WeightFormat.FP8, HardwareSpec.gpus(2, 8, 90), 131_072, 1);
        List<Path> files = KustomizeOverlay.write(plan, dir.resolve("overlay"), dir.resolve("k8s/base"));

        assertEquals(5, files.size());
        JsonNode config = new YAMLMapper().readTree(dir.resolve("overlay/fleet-configmap.yaml").toFile());
        ExpertPlacement placement = ExpertPlacement.parse(config.at("/data/placement.json").asText());
        assertEquals(ExpertPlacement.spread(384, 16, 1).toJson(), placement.toJson());
        assertArrayEquals(IntStream.range(24, 48).toArray(), placement.expertsOf(1, 1));
        JsonNode kustomization = new YAMLMapper().readTree(dir.resolve("overlay/kustomization.yaml").toFile());
        assertEquals("../k8s/base", kustomization.at("/bases/0").asText());
        JsonNode fleet = new YAMLMapper().readTree(dir.resolve("overlay/moefleet.yaml").toFile());
        assertEquals(0, fleet.at("/spec/experts/redundantExperts").asInt());
        assertEquals(24, fleet.at("/spec/experts/expertsPerPod").asInt());
    }

    @Test
    void redundantExpertsSitOnDistinctPodsAndEveryPodHoldsItsSlots() {
        MemoryPlan plan = MemoryPlan.of(WeightBytesTest.k2(), WeightFormat.FP8, HardwareSpec.gpus(10, 1, 141), 4096, 1);
        ExpertPlacement placement = ExpertPlacement.parse(KustomizeOverlay.placementJson(KustomizeOverlay.placement(plan)));
        assertEquals(10, placement.shards());
        for (int s = 0; s < 10; s++) {
            assertEquals(40, placement.expertsOf(s, 1).length, "shard " + s);
        }
        int replicated = 0;
        for (int e = 0; e < 384; e++) {
            replicated += placement.replicas(1, e) - 1;
        }
        assertEquals(16, replicated);
    }

    @Test
    void cpuNodesGetMemoryButNoGpu() throws IOException {
        MemoryPlan plan = MemoryPlan.of(WeightBytesTest.k2(), WeightFormat.FP8, HardwareSpec.cpuNodes(2, 768), 131_072, 1);
        KustomizeOverlay.write(plan, dir, dir.resolve("base"));
        String experts = Files.readString(dir.resolve("expert-statefulset.yaml"));
        assertFalse(experts.contains("nvidia.com/gpu"), experts);
        JsonNode resources = new YAMLMapper().readTree(experts).at("/spec/template/spec/containers/0/resources");
        long gib = (plan.pod().total() + (1L << 30) - 1) >> 30;
        assertEquals(gib + "Gi", resources.at("/requests/memory").asText());
        assertEquals(gib + "Gi", resources.at("/limits/memory").asText());
        assertTrue(Files.readString(dir.resolve("kustomization.yaml")).contains("bases:\n  - base\n"));
    }
}
