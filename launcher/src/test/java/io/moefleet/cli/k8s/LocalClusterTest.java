package io.moefleet.cli.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kubernetes.client.common.KubernetesListObject;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.util.generic.GenericKubernetesApi;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.controller.FakeApiServer;
import io.moefleet.controller.FleetApi;
import io.moefleet.controller.FleetSignals;
import io.moefleet.controller.MoeFleet;
import io.moefleet.cli.fleet.FleetCli;
import io.moefleet.controller.MoeFleetReconciler;
import io.moefleet.engine.Engine;
import io.moefleet.model.ModelConfig;
import io.moefleet.sampling.SamplingParams;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller's reconcile code drives a fleet of real local processes: a {@code MoeFleet} in the fake API server,
 * {@link MoeFleetReconciler} writing the fleet's objects there, and {@link ProcessKubelet} running them (two expert
 * shards, an attention instance, a KV member, the router) and writing their readiness back. The router answers as the
 * engine does, the fleet's status reports its shards ready, deleting the fleet deletes its objects and stops its
 * pods, and closing leaves no process.
 */
@Timeout(240)
class LocalClusterTest {

    private static final String NAMESPACE = "moefleet";
    private static final String FLEET = "demo";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> SERVICE_MAINS = List.of("io.moefleet.expert.ExpertServiceMain",
            "io.moefleet.attention.AttentionServiceMain", "io.moefleet.kvcache.KvCacheMain", "io.moefleet.cli.Main");

    /** The fake API server logs every request, and the templates' YAML parser every CRD field it skips: kept quiet. */
    private static final List<Logger> QUIET = List.of(Logger.getLogger("io.fabric8.mockwebserver"), Logger.getLogger("org.yaml.snakeyaml"));

    static {
        QUIET.forEach(logger -> logger.setLevel(Level.SEVERE));
    }

    @TempDir
    Path dir;

    @Test
    void theReconcilerDrivesLocalProcessesThatServeAsTheEngine() throws Exception {
        Path models = dir.resolve("models");
        Path model = models.resolve("model");
        CheckpointWriter.write(Preset.config("tiny"), 5, WeightFormat.BF16, model);
        int experts = ModelConfig.read(model.resolve("config.json")).nRoutedExperts();
        Path work = dir.resolve("kubelet");

        try (FakeApiServer server = new FakeApiServer()) {
            FleetApi api = new FleetApi(server.client);
            FleetSecrets secrets = FleetSecrets.create(server.client, NAMESPACE, FLEET, dir.resolve("certs"));
            createFleet(api, experts);
            LocalControlLoop loop = new LocalControlLoop(api, NAMESPACE, FLEET, fleet -> FleetSignals.NONE, fleet -> null, (fleet, shard, wanted) -> false);
            try (ProcessKubelet kubelet = new ProcessKubelet(server.client, NAMESPACE, models, work, LocalControlLoop.buildFlags("fleet.jvm.flags"),
                    LocalControlLoop.buildFlags("hazelcast.jvm.flags"))) {
                loop.start(kubelet);
                try {
                    checkServing(kubelet, loop, model, secrets);
                    checkStatus(api, kubelet, loop);
                    checkDeletion(api, kubelet, loop);
                } finally {
                    loop.stop();
                }
            }
            assertNull(loop.failure.get(), "the control loop failed");
        }
        // what the kubelet did, pod by pod: starts, exits (with what the process said last), stops (or kills)
        try (var logs = Files.list(work.resolve("logs"))) {
            for (Path log : logs.sorted().toList()) {
                List<String> lines = Files.readAllLines(log);
                for (int i = 0; i < lines.size(); i++) {
                    String line = lines.get(i);
                    if (line.contains(" exited with ")) {
                        lines.subList(Math.max(0, i - 8), i).forEach(System.err::println);
                    }
                    if (line.startsWith("--- kubelet:")) {
                        System.err.println(line.length() > 160 ? line.substring(0, 160) + "..." : line);
                    }
                }
            }
        }
        // every pod's JVM names the kubelet's work folder; the services also name the checkpoint (as FleetCli checks)
        List<String> left = ProcessHandle.allProcesses().filter(ProcessHandle::isAlive).map(p -> p.pid() + " " + FleetCli.commandLine(p))
                .filter(line -> line.contains("-D" + ProcessKubelet.MARKER_PROPERTY + "=" + work.toAbsolutePath())
                        || SERVICE_MAINS.stream().anyMatch(line::contains) && line.contains(model.toString()))
                .toList();
        assertTrue(left.isEmpty(), "pod processes left: " + left);
    }

    private static void createFleet(FleetApi api, int experts) throws Exception {
        MoeFleet fleet = new MoeFleet().metadata(new V1ObjectMeta().name(FLEET).namespace(NAMESPACE));
        MoeFleet.Spec spec = fleet.getSpec();
        spec.experts.routedExperts = experts;
        spec.experts.shards = 2;
        spec.experts.expertsPerPod = experts / 2;
        spec.experts.minShards = 2;
        spec.experts.maxShards = 3;
        spec.attention.instances = 1;
        spec.kvCache.members = 1;
        spec.kvCache.memoryBudget = "64m";
        api.fleets().create(fleet).throwsApiException();
    }

    /** The router serves the engine's tokens over the fleet's mutual TLS, to a client with the API key only. */
    private void checkServing(ProcessKubelet kubelet, LocalControlLoop loop, Path model, FleetSecrets secrets) throws Exception {
        String base = loop.awaitServingRouter(kubelet);
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> last = http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals("{\"status\":\"serving\"}", last.body());

        // the router found the shards through the projected ConfigMap, its cluster names on loopback
        String endpoints = Files.readString(kubelet.volumeFolder(FLEET + "-router-0", "fleet").resolve("endpoints.json"));
        assertTrue(endpoints.matches("(?s).*\"experts\":\\[\"127\\.0\\.0\\.1:\\d+\",\"127\\.0\\.0\\.1:\\d+\"].*"), endpoints);

        String request = """
                {"model": "model", "prompt": [5, 6, 7, 8], "max_tokens": 6, "temperature": 0, "ignore_eos": true,
                 "logprobs": 0, "return_tokens_as_token_ids": true}""";
        HttpResponse<String> withoutKey = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(request)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(401, withoutKey.statusCode(), "the API keys from the Secret: " + withoutKey.body());
        HttpResponse<String> completion = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                .header("content-type", "application/json").header("Authorization", "Bearer " + secrets.apiKey())
                .POST(HttpRequest.BodyPublishers.ofString(request)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, completion.statusCode(), completion.body());
        // the shards served over mutual TLS with the Secret's certificates, the router their client
        String shardLog = Files.readString(kubelet.logFile(FLEET + "-expert-0"));
        assertTrue(shardLog.contains("mutual TLS on port"), shardLog);
        List<String> tokens = new ArrayList<>();
        JSON.readTree(completion.body()).at("/choices/0/logprobs/tokens").forEach(t -> tokens.add(t.asText()));
        try (Engine engine = Engine.open(model, (done, total) -> { })) {
            assertEquals(Arrays.stream(engine.generate(new int[] {5, 6, 7, 8}, 6, SamplingParams.greedy()))
                    .mapToObj(id -> "token_id:" + id).toList(), tokens);
        }
    }

    /** The kubelet's readiness reached the fleet's status through the reconciler: 2 ready shards, Ready True. */
    private static void checkStatus(FleetApi api, ProcessKubelet kubelet, LocalControlLoop loop) throws Exception {
        MoeFleet fleet = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            loop.throwIfFailed(kubelet);
            fleet = api.fleets().get(NAMESPACE, FLEET).throwsApiException().getObject();
            if (fleet.getStatus() != null && Integer.valueOf(2).equals(fleet.getStatus().readyShards) && ready(fleet)) {
                break;
            }
            Thread.sleep(300);
        }
        assertNotNull(fleet.getStatus(), "the reconciler wrote no status");
        assertEquals(2, fleet.getStatus().shards);
        assertEquals(2, fleet.getStatus().readyShards, "ready shards; pods:" + kubelet.describe(5));
        assertTrue(ready(fleet), "Ready condition: " + JSON.writeValueAsString(fleet.getStatus().conditions));
        V1StatefulSet shards = (V1StatefulSet) api.api(V1StatefulSet.class).get(NAMESPACE, FLEET + "-expert").throwsApiException()
                .getObject();
        assertEquals(2, shards.getStatus().getReadyReplicas(), "the expert StatefulSet's status as the kubelet wrote it");
    }

    /** Deleting the fleet deletes what it owns (the garbage collector follows the owner references), and its pods stop. */
    private static void checkDeletion(FleetApi api, ProcessKubelet kubelet, LocalControlLoop loop) throws Exception {
        api.fleets().delete(NAMESPACE, FLEET).throwsApiException();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!kubelet.podNames().isEmpty() && System.nanoTime() < deadline) {
            loop.throwIfFailed(kubelet);
            Thread.sleep(300);
        }
        assertEquals(Set.of(), kubelet.podNames(), "pods of a deleted fleet");
        for (Class<?> kind : api.kinds()) {
            @SuppressWarnings({"unchecked", "rawtypes"})
            KubernetesListObject left = (KubernetesListObject) ((GenericKubernetesApi) api.api((Class) kind)).list(NAMESPACE)
                    .throwsApiException().getObject();
            assertEquals(List.of(), left.getItems(), kind.getSimpleName() + " left after the fleet was deleted");
        }
    }

    private static boolean ready(MoeFleet fleet) {
        return fleet.getStatus().conditions != null
                && fleet.getStatus().conditions.stream().anyMatch(c -> "Ready".equals(c.type) && "True".equals(c.status));
    }
}
