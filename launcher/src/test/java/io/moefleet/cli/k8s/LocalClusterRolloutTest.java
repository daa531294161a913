package io.moefleet.cli.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.cli.fleet.FleetCli;
import io.moefleet.controller.FakeApiServer;
import io.moefleet.controller.FleetApi;
import io.moefleet.controller.MoeFleet;
import io.moefleet.controller.RouterSignals;
import io.moefleet.controller.RouterState;
import io.moefleet.controller.ShardProbe;
import io.moefleet.engine.Engine;
import io.moefleet.model.ModelConfig;
import io.moefleet.sampling.SamplingParams;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end on local processes, with the controller reading the router's real metrics and state and the shards'
 * real Stats: a load step (8 concurrent streaming clients) raises the expert-shard count from 2 to 3, whose new
 * placement rolls out one shard at a time while the streams run; no request fails and every stream's tokens are those
 * of an undisturbed run (the engine's greedy tokens, which an undisturbed fleet gives).
 */
@Timeout(360)
class LocalClusterRolloutTest {

    private static final String NAMESPACE = "moefleet";
    private static final String FLEET = "demo";
    private static final int CLIENTS = 8;
    private static final int TOKENS = 48;
    private static final ObjectMapper JSON = new ObjectMapper();

    static {
        List.of("io.fabric8.mockwebserver", "org.yaml.snakeyaml").forEach(name -> Logger.getLogger(name).setLevel(Level.SEVERE));
    }

    @TempDir
    Path dir;

    @Test
    void aLoadStepAddsAShardAndItsPlacementRollsOutUnderEightStreamsWithoutChangingATokenOrFailingARequest() throws Exception {
        Path models = dir.resolve("models");
        Path model = models.resolve("model");
        CheckpointWriter.write(Preset.config("tiny"), 7, WeightFormat.BF16, model);
        int experts = ModelConfig.read(model.resolve("config.json")).nRoutedExperts();
        int[][] prompts = IntStream.range(0, CLIENTS).mapToObj(c -> new int[] {3 + c, 11, 4 + 2 * c, 9}).toArray(int[][]::new);
        List<List<String>> expected = new ArrayList<>();
        try (Engine engine = Engine.open(model, (done, total) -> { })) {
            for (int[] prompt : prompts) {
                expected.add(Arrays.stream(engine.generate(prompt, TOKENS, SamplingParams.greedy())).mapToObj(id -> "token_id:" + id).toList());
            }
        }
        Path work = dir.resolve("kubelet");
        try (FakeApiServer server = new FakeApiServer();
             ProcessKubelet kubelet = new ProcessKubelet(server.client, NAMESPACE, models, work, LocalControlLoop.buildFlags("fleet.jvm.flags"),
                     LocalControlLoop.buildFlags("hazelcast.jvm.flags"))) {
            FleetApi api = new FleetApi(server.client);
            FleetSecrets secrets = FleetSecrets.create(server.client, NAMESPACE, FLEET, dir.resolve("certs"));
            createFleet(api, experts);
            // the controller's readers, on the pods' loopback addresses instead of the cluster's names, with its API key
            // and its certificate as in the cluster
            RouterSignals signals = new RouterSignals(fleet -> URI.create(router(kubelet) + "/metrics"), secrets.apiKey());
            RouterState.Source state = RouterState.over(fleet -> URI.create(router(kubelet) + "/v1/fleet/state"), secrets.apiKey());
            ShardProbe shards = ShardProbe.overGrpc((fleet, shard) -> {
                String address = kubelet.podAddress(FLEET + "-expert-" + shard, 50051);
                return address != null ? address : "127.0.0.1:1";
            }, secrets.controllerCredentials());
            LocalControlLoop loop = new LocalControlLoop(api, NAMESPACE, FLEET, signals, state, shards);
            loop.start(kubelet);
            try {
                String base = loop.awaitServingRouter(kubelet);

                Set<String> phases = ConcurrentHashMap.newKeySet();
                AtomicBoolean rolledOut = new AtomicBoolean();
                List<String> failures = new CopyOnWriteArrayList<>();
                AtomicInteger checked = new AtomicInteger();
                AtomicInteger afterSwitch = new AtomicInteger();
                List<Thread> clients = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    int client = c;
                    clients.add(Thread.ofPlatform().name("client-" + c).start(() -> {
                        HttpClient http = HttpClient.newHttpClient();
                        // back to back until the roll-out is over and one more request has run on the new placement
                        while (afterSwitch.get() < CLIENTS && failures.isEmpty()) {
                            boolean switched = rolledOut.get();
                            try {
                                List<String> tokens = stream(http, base, prompts[client], secrets.apiKey());
                                if (!tokens.equals(expected.get(client))) {
                                    failures.add("client " + client + ": tokens " + tokens + " differ from " + expected.get(client));
                                }
                                checked.incrementAndGet();
                                if (switched) {
                                    afterSwitch.incrementAndGet();
                                }
                            } catch (Exception e) {
                                failures.add("client " + client + ": " + e);
                            }
                        }
                    }));
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
                while (!rolledOut.get() && failures.isEmpty() && System.nanoTime() < deadline) {
                    loop.throwIfFailed(kubelet);
                    MoeFleet fleet = api.fleets().get(NAMESPACE, FLEET).throwsApiException().getObject();
                    if (fleet.getStatus() != null && fleet.getStatus().rollout != null) {
                        phases.add(fleet.getStatus().rollout.phase + " " + fleet.getStatus().rollout.shardsBelow);
                    }
                    if (fleet.getStatus() != null && fleet.getStatus().rollout == null && Integer.valueOf(3).equals(fleet.getStatus().shards)) {
                        rolledOut.set(true);
                    }
                    Thread.sleep(100);
                }
                for (Thread client : clients) {
                    client.join(TimeUnit.SECONDS.toMillis(120));
                }
                assertTrue(failures.isEmpty(), failures + "; pods:" + kubelet.describe(15));
                assertTrue(rolledOut.get(), "the fleet never rolled out to 3 shards; phases " + phases + "; pods:" + kubelet.describe(15));
                assertTrue(checked.get() > 2 * CLIENTS, "requests checked: " + checked);

                MoeFleet fleet = api.fleets().get(NAMESPACE, FLEET).throwsApiException().getObject();
                assertEquals("expert", fleet.getStatus().lastScaling.component);
                assertEquals(2, fleet.getStatus().lastScaling.from);
                assertEquals(3, fleet.getStatus().lastScaling.to);
                assertTrue(fleet.getStatus().lastScaling.reason.contains("time per output token"), fleet.getStatus().lastScaling.reason);
                assertTrue(phases.containsAll(List.of("Loading 1", "Loading 2", "Loading 3", "Switching 2")),
                        "the roll-out went shard by shard, then switched: " + phases);
                JsonNode routed = JSON.readTree(HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create(base + "/v1/fleet/state")).header("Authorization", "Bearer " + secrets.apiKey()).build(),
                        HttpResponse.BodyHandlers.ofString()).body());
                assertEquals(3, routed.path("placement").path("shards").size(), "the router routes by the new placement");
                assertEquals(3, routed.path("experts").size());
            } finally {
                loop.stop();
            }
        }
        List<String> left = ProcessHandle.allProcesses().filter(ProcessHandle::isAlive).map(p -> p.pid() + " " + FleetCli.commandLine(p))
                .filter(line -> line.contains("-D" + ProcessKubelet.MARKER_PROPERTY + "=" + work.toAbsolutePath())).toList();
        assertTrue(left.isEmpty(), "pod processes left: " + left);
    }

    /** The router pod's address; one nothing listens on before the pod exists (as a Service without endpoints). */
    private static String router(ProcessKubelet kubelet) {
        try {
            return kubelet.routerBaseUrl(FLEET + "-router");
        } catch (IllegalStateException notCreatedYet) {
            return "http://127.0.0.1:1";
        }
    }

    /**
     * 2 shards, up to 3; a time-per-output-token target of 1 ms that any served load misses (so the load step, and
     * nothing before it, scales the shards up), a cooldown long enough that it happens once, no re-plan of its own.
     */
    private static void createFleet(FleetApi api, int experts) throws Exception {
        MoeFleet fleet = new MoeFleet().metadata(new V1ObjectMeta().name(FLEET).namespace(NAMESPACE));
        MoeFleet.Spec spec = fleet.getSpec();
        spec.experts.routedExperts = experts;
        spec.experts.shards = 2;
        spec.experts.expertsPerPod = experts / 2;
        spec.experts.minShards = 2;
        spec.experts.maxShards = 3;
        spec.attention.instances = 1;
        spec.attention.maxInstances = 1;
        spec.kvCache.members = 1;
        spec.kvCache.memoryBudget = "64m";
        spec.slo.tpotMillis = 1;
        spec.slo.ttftMillis = 600_000;
        spec.scaling.cooldownSeconds = 3600;
        spec.scaling.queueDepthPerShard = 1000;
        spec.placement.replanIntervalSeconds = 3600;
        api.fleets().create(fleet).throwsApiException();
    }

    /** One streamed completion's token ids, read from its Server-Sent Events. */
    private static List<String> stream(HttpClient http, String base, int[] prompt, String apiKey)
            throws IOException, InterruptedException {
        String body = "{\"model\": \"model\", \"prompt\": " + Arrays.toString(prompt) + ", \"max_tokens\": " + TOKENS
                + ", \"temperature\": 0, \"ignore_eos\": true, \"stream\": true, \"logprobs\": 0, \"return_tokens_as_token_ids\": true}";
        HttpResponse<java.util.stream.Stream<String>> answer = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                .header("content-type", "application/json").header("Authorization", "Bearer " + apiKey)
                .timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
        List<String> lines = answer.body().toList();
        if (answer.statusCode() != 200) {
            throw new IOException("HTTP " + answer.statusCode() + ": " + String.join("\n", lines));
        }
        List<String> tokens = new ArrayList<>();
        boolean done = false;
        for (String line : lines) {
            if (!line.startsWith("data: ")) {
                continue;
            }
            String data = line.substring("data: ".length());
            if (data.equals("[DONE]")) {
                done = true;
                continue;
            }
            JsonNode event = JSON.readTree(data);
            if (event.has("error")) {
                throw new IOException("the stream failed: " + data);
            }
            event.at("/choices/0/logprobs/tokens").forEach(t -> tokens.add(t.asText()));
        }
        if (!done) {
            throw new IOException("the stream ended without [DONE]: " + lines);
        }
        return tokens;
    }
}
