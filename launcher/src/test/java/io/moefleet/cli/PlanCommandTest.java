package io.moefleet.cli;

import static io.moefleet.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.moefleet.expert.ExpertPlacement;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ./fleet plan} on Kimi K2's config: what fits, what is refused and why, and the overlay it emits. */
class PlanCommandTest {

    private static final String K2 = resource("/plan/kimi-k2-instruct-config.json");

    /** Moonshot's deployment guidance: the smallest unit for FP8 K2 at 128K context is 16 H200s (141 GiB each). */
    private static final String[] SIXTEEN_H200 =
            {"--config", K2, "--dtype", "fp8", "--context", "131072", "--nodes", "2", "--gpus-per-node", "8", "--gpu-memory-gib", "141"};

    @TempDir
    Path dir;

    private static String[] plan(String[] options, String... more) {
        String[] argv = new String[1 + options.length + more.length];
        argv[0] = "plan";
        System.arraycopy(options, 0, argv, 1, options.length);
        System.arraycopy(more, 0, argv, 1 + options.length, more.length);
        return argv;
    }

    @Test
    void k2InFp8At128kFitsSixteenH200s() throws IOException {
        CliRun table = run(plan(SIXTEEN_H200));
        assertEquals(0, table.code(), table.err());
        assertTrue(table.out().contains("16 expert pods (one per GPU) of 141 GiB"), table.out());
        assertTrue(table.out().contains("384 routed experts over 16 pods, 25 per pod (16 redundant in all)"), table.out());
        assertTrue(table.out().contains("data-parallel attention"), table.out());
        assertEquals("", table.err());

        CliRun json = run(plan(SIXTEEN_H200, "--json"));
        assertEquals(0, json.code(), json.err());
        JsonNode plan = new ObjectMapper().readTree(json.out());
        assertTrue(plan.get("fits").asBoolean());
        assertEquals("fp8", plan.at("/model/dtype").asText());
        assertEquals(16, plan.at("/placement/pods").asInt());
        assertEquals(25, plan.at("/placement/experts_per_pod").asInt(), "24 per pod and one redundant");
        assertEquals(16, plan.at("/placement/redundant_experts").asInt());
        assertEquals(70_272, plan.get("kv_bytes_per_token").asLong(), "61 layers x (512 + 64) x 2 bytes");
        JsonNode pod = plan.get("per_pod");
        assertEquals(pod.get("routed_experts").asLong() + pod.get("non_expert").asLong() + pod.get("kv_cache").asLong()
                + pod.get("activations").asLong(), pod.get("total").asLong());
        assertEquals(141L << 30, pod.get("capacity").asLong());
        assertTrue(pod.get("headroom").asLong() > 0);
        assertEquals(131_072L * 70_272, pod.get("kv_cache").asLong(), "one 128K sequence on the pod that runs it");
    }

    @Test
    void k2OnEightA100sIsRefusedNamingTheShortfall() {
        CliRun r = run("plan", "--config", K2, "--dtype", "fp8", "--context", "131072", "--nodes", "1", "--gpus-per-node", "8",
                "--gpu-memory-gib", "80");
        assertEquals(1, r.code());
        assertEquals("", r.out(), "a refusal prints nothing on stdout");
        assertTrue(r.err().contains("in fp8 at 131,072 tokens"), r.err());
        assertTrue(r.err().contains("1 node x 8 GPUs x 80 GiB = 640.0 GiB"), r.err());
        assertTrue(r.err().contains("each pod needs 153.1 GiB (48 routed experts"), r.err());
        assertTrue(r.err().contains("short by 73.1 GiB per pod, 585.1 GiB in all"), r.err());
        assertTrue(r.err().contains("20 GPUs of 80 GiB would fit"), r.err());
    }

    @Test
    void withoutDtypeThePlanTakesTheCheckpointsOwnFormat() throws IOException {
        CliRun r = run("plan", "--config", K2, "--nodes", "2", "--gpus-per-node", "8", "--gpu-memory-gib", "141", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode plan = new ObjectMapper().readTree(r.out());
        assertEquals("fp8", plan.at("/model/dtype").asText(), "the config's quantization_config is block FP8");
        assertEquals(131_072, plan.get("context").asInt(), "max_position_embeddings by default");
    }

    @Test
    void cpuNodesHoldAShareOfTheExpertsEach() throws IOException {
        CliRun r = run("plan", "--config", K2, "--cpu-nodes", "2", "--node-memory-gib", "768", "--concurrency", "4", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode plan = new ObjectMapper().readTree(r.out());
        assertEquals("cpu", plan.at("/hardware/mode").asText());
        assertEquals(2, plan.at("/placement/pods").asInt());
        assertEquals(193, plan.at("/placement/experts_per_pod").asInt());
        assertEquals(2L * 131_072 * 70_272, plan.at("/per_pod/kv_cache").asLong(), "4 sequences over 2 nodes");

        CliRun table = run("plan", "--config", K2, "--cpu-nodes", "2", "--node-memory-gib", "768");
        assertTrue(table.out().contains("2 CPU nodes x 768 GiB = 2 expert pods (one per CPU node)"), table.out());
    }

    @Test
    void badCommandLinesAreUsageErrors() {
        CliRun noHardware = run("plan", "--config", K2);
        assertEquals(2, noHardware.code());
        assertTrue(noHardware.err().contains("give either --nodes N"), noHardware.err());

        CliRun both = run("plan", "--config", K2, "--nodes", "1", "--gpus-per-node", "8", "--gpu-memory-gib", "80",
                "--cpu-nodes", "1", "--node-memory-gib", "1024");
        assertEquals(2, both.code());

        CliRun noGpus = run("plan", "--config", K2, "--nodes", "2", "--gpu-memory-gib", "80");
        assertEquals(2, noGpus.code());
        assertTrue(noGpus.err().contains("missing --gpus-per-node"), noGpus.err());

        CliRun noOut = run(plan(SIXTEEN_H200, "--emit", "kustomize"));
        assertEquals(2, noOut.code());
        assertTrue(noOut.err().contains("--emit kustomize needs --out DIR"), noOut.err());

        CliRun helm = run(plan(SIXTEEN_H200, "--emit", "helm", "--out", "x"));
        assertEquals(2, helm.code());
        assertTrue(helm.err().contains("--emit takes kustomize"), helm.err());

        CliRun tooLong = run(plan(new String[] {"--config", K2, "--cpu-nodes", "4", "--node-memory-gib", "1024"}, "--context", "262144"));
        assertEquals(1, tooLong.code());
        assertTrue(tooLong.err().contains("outside the model's 1..131072 (max_position_embeddings)"), tooLong.err());

        CliRun typo = run(plan(SIXTEEN_H200, "--concurency", "4"));
        assertEquals(2, typo.code());
        assertTrue(typo.err().contains("unknown option --concurency"), typo.err());
        for (CliRun r : new CliRun[] {noHardware, both, noGpus, noOut, helm, tooLong, typo}) {
            assertEquals("", r.out(), "errors never go to stdout");
        }
    }

    @Test
    void emitsAKustomizeOverlayOfTheBaseForThePlan() throws IOException {
        Path base = Files.createDirectories(dir.resolve("repo/k8s/base"));
        Path overlay = dir.resolve("repo/deploy/k2");

        CliRun r = run(plan(SIXTEEN_H200, "--emit", "kustomize", "--out", overlay.toString(), "--base", base.toString()));

        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("25 per pod"), "the plan is still printed: " + r.out());
        YAMLMapper yaml = new YAMLMapper();
        JsonNode kustomization = yaml.readTree(overlay.resolve("kustomization.yaml").toFile());
        assertEquals("../../k8s/base", kustomization.at("/bases/0").asText());
        assertEquals(4, kustomization.get("patchesStrategicMerge").size());
        for (JsonNode patch : kustomization.get("patchesStrategicMerge")) {
            assertTrue(Files.isRegularFile(overlay.resolve(patch.asText())), patch.asText());
        }

        JsonNode config = yaml.readTree(overlay.resolve("fleet-configmap.yaml").toFile());
        assertEquals("ConfigMap", config.get("kind").asText());
        assertEquals("moefleet-fleet", config.at("/metadata/name").asText());
        ExpertPlacement placement = ExpertPlacement.parse(config.at("/data/placement.json").asText());
        assertEquals(16, placement.shards());
        int held = 0;
        for (int s = 0; s < 16; s++) {
            assertEquals(25, placement.expertsOf(s, 1).length, "shard " + s);
            held += placement.expertsOf(s, 1).length;
        }
        assertEquals(384 + 16, held, "every expert once and 16 redundant");
        JsonNode endpoints = new ObjectMapper().readTree(config.at("/data/endpoints.json").asText());
        assertEquals(16, endpoints.get("experts").size());
        assertEquals(16, endpoints.get("attention").size());
        assertEquals("moefleet-expert-15.moefleet-expert:50051", endpoints.at("/experts/15").asText());
        assertEquals("moefleet-attention-0.moefleet-attention:50061", endpoints.at("/attention/0").asText());

        JsonNode experts = yaml.readTree(overlay.resolve("expert-statefulset.yaml").toFile());
        assertEquals("StatefulSet", experts.get("kind").asText());
        assertEquals("moefleet-expert", experts.at("/metadata/name").asText());
        assertEquals(16, experts.at("/spec/replicas").asInt());
        JsonNode container = experts.at("/spec/template/spec/containers/0");
        assertEquals("expert", container.get("name").asText());
        for (String kind : new String[] {"requests", "limits"}) {
            JsonNode amounts = container.at("/resources/" + kind);
            assertEquals(1, amounts.get("nvidia.com/gpu").asInt(), kind);
            assertEquals("91Gi", amounts.get("memory").asText(), kind + ": the pod's planned 90.9 GiB, rounded up");
        }

        JsonNode attention = yaml.readTree(overlay.resolve("attention-statefulset.yaml").toFile());
        assertEquals("moefleet-attention", attention.at("/metadata/name").asText());
        assertEquals(16, attention.at("/spec/replicas").asInt());

        JsonNode fleet = yaml.readTree(overlay.resolve("moefleet.yaml").toFile());
        assertEquals("moefleet.io/v1alpha1", fleet.get("apiVersion").asText());
        assertEquals("MoeFleet", fleet.get("kind").asText());
        assertEquals("moefleet", fleet.at("/metadata/name").asText());
        assertEquals(384, fleet.at("/spec/experts/routedExperts").asInt());
        assertEquals(16, fleet.at("/spec/experts/shards").asInt());
        assertEquals(16, fleet.at("/spec/experts/minShards").asInt(), "the controller keeps the planned shards");
        assertEquals(16, fleet.at("/spec/experts/maxShards").asInt());
        assertEquals("91Gi", fleet.at("/spec/experts/resources/limits/memory").asText(), "the controller sets these on the pods");
        assertEquals(25, fleet.at("/spec/experts/expertsPerPod").asInt());
        assertEquals(16, fleet.at("/spec/experts/redundantExperts").asInt());
        assertEquals(16, fleet.at("/spec/attention/instances").asInt());
        assertEquals(16, fleet.at("/spec/attention/maxInstances").asInt());
    }

    @Test
    void aMissingBaseIsNotedButTheOverlayIsWritten() {
        Path overlay = dir.resolve("overlay");
        CliRun r = run(plan(SIXTEEN_H200, "--emit", "kustomize", "--out", overlay.toString(), "--base", dir.resolve("none").toString()));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("does not exist (yet)"), r.err());
        assertTrue(Files.isRegularFile(overlay.resolve("kustomization.yaml")));
    }

    @Test
    void aRefusedPlanEmitsNothing() {
        Path overlay = dir.resolve("refused");
        CliRun r = run("plan", "--config", K2, "--nodes", "1", "--gpus-per-node", "8", "--gpu-memory-gib", "80",
                "--emit", "kustomize", "--out", overlay.toString(), "--base", dir.toString());
        assertEquals(1, r.code());
        assertFalse(Files.exists(overlay));
    }

    private static String resource(String name) {
        try {
            return Path.of(PlanCommandTest.class.getResource(name).toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
