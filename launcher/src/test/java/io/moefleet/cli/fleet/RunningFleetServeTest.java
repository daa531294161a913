package io.moefleet.cli.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.attention.KvPoolSettings;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.engine.Engine;
import io.moefleet.expert.ExpertPlacement;
import io.moefleet.model.ModelConfig;
import io.moefleet.rpc.ListenPorts;
import io.moefleet.sampling.SamplingParams;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./fleet serve --fleet-config DIR}: the router over a fleet started elsewhere (here by {@link FleetProcesses} in
 * the test's JVM, as Kubernetes would run it), found through {@code endpoints.json} and {@code placement.json}. Health
 * turns 200, a completion gives the engine's greedy tokens, health turns 503 "fleet down" once an expert shard dies,
 * and stopping both leaves no service.
 */
@Timeout(240)
class RunningFleetServeTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void servesOverARunningFleetAndReportsItDownWhenAShardDies() throws Exception {
        Path tiny = dir.resolve("tiny");
        CheckpointWriter.write(Preset.config("tiny"), 5, WeightFormat.BF16, tiny);
        ModelConfig config = ModelConfig.read(tiny.resolve("config.json"));
        FleetLayout layout = new FleetLayout(tiny, ExpertPlacement.spread(config.nRoutedExperts(), 2, 1), 1, 1, 1, 1,
                KvPoolSettings.DEFAULT_PAGE_TOKENS);
        long servePid;
        try (FleetProcesses fleet = FleetProcesses.start(layout, dir.resolve("logs"), System.err)) {
            Path fleetConfig = Files.createDirectories(dir.resolve("fleet-config"));
            Files.writeString(fleetConfig.resolve("endpoints.json"), JSON.writeValueAsString(Map.of(
                    "attention", fleet.attentionAddresses(), "experts", fleet.expertAddresses())));
            Files.writeString(fleetConfig.resolve("placement.json"), fleet.placement().toJson());

            int port = ListenPorts.take();
            Path err = dir.resolve("serve.err");
            Process serve = new ProcessBuilder(FleetCli.command(dir, null, "serve", "--model", tiny.toString(), "--port",
                    Integer.toString(port), "--fleet-config", fleetConfig.toString()))
                    .redirectOutput(dir.resolve("serve.out").toFile()).redirectError(err.toFile()).start();
            servePid = serve.pid();
            try {
                checkServing(serve, port, err, fleetConfig, tiny, fleet);
            } finally {
                serve.destroy();                               // SIGTERM, as a pod's stop; then the fleet closes
                assertTrue(serve.waitFor(60, TimeUnit.SECONDS), "serve did not stop");
            }
        }
        FleetCli.assertNoServiceProcessLeft(servePid, tiny);
        FleetCli.assertNoServiceProcessLeft(ProcessHandle.current().pid(), tiny);
    }

    private static void checkServing(Process serve, int port, Path err, Path fleetConfig, Path tiny, FleetProcesses fleet)
            throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        URI health = URI.create("http://127.0.0.1:" + port + "/health");
        HttpResponse<String> last = awaitHealth(http, health, serve, 200, Duration.ofSeconds(120));
        assertTrue(last != null && last.statusCode() == 200, "health never turned 200: " + Files.readString(err));
        assertEquals("{\"status\":\"serving\"}", last.body());
        String log = Files.readString(err);
        assertTrue(log.contains("waiting up to 600 s for 1 attention instance(s) and 2 expert shard(s) listed in "
                + fleetConfig), log);
        assertTrue(log.contains("serving tiny as 'tiny' on http://127.0.0.1:" + port), log);
        assertTrue(log.contains("(fleet from " + fleetConfig + ")"), log);

        HttpResponse<String> completion = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString("""
                        {"model": "tiny", "prompt": [5, 6, 7, 8], "max_tokens": 6, "temperature": 0, "ignore_eos": true,
                         "logprobs": 0, "return_tokens_as_token_ids": true}""")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, completion.statusCode(), completion.body());
        List<String> tokens = new ArrayList<>();
        JSON.readTree(completion.body()).at("/choices/0/logprobs/tokens").forEach(t -> tokens.add(t.asText()));
        try (Engine engine = Engine.open(tiny, (done, total) -> { })) {
            assertEquals(Arrays.stream(engine.generate(new int[] {5, 6, 7, 8}, 6, SamplingParams.greedy()))
                    .mapToObj(id -> "token_id:" + id).toList(), tokens);
        }

        // an expert shard dies (as a pod killed under the router): health reports the fleet down
        ProcessHandle shard = expertShardProcess(tiny, fleet.expertAddresses().get(1));
        assertTrue(shard.destroyForcibly(), "could not kill expert shard 1");
        shard.onExit().get(10, TimeUnit.SECONDS);
        assertFalse(fleet.allRunning());
        long killed = System.nanoTime();
        last = awaitHealth(http, health, serve, 503, Duration.ofSeconds(10));
        assertTrue(last != null && last.statusCode() == 503, "health did not turn 503 within 10 s of the shard's death: "
                + (last == null ? "no answer" : last.statusCode() + " " + last.body()));
        assertEquals("{\"status\":\"fleet down\"}", last.body());
        System.err.printf("health turned 503 %.1f s after the shard died%n", (System.nanoTime() - killed) / 1e9);
        assertTrue(serve.isAlive(), "serve exited when a shard died: " + Files.readString(err));
    }

    @Test
    void fleetConfigDoesNotGoWithPlacementOptions() throws Exception {
        Path err = dir.resolve("serve.err");
        Process serve = new ProcessBuilder(FleetCli.command(dir, null, "serve", "--model", dir.resolve("tiny").toString(),
                "--port", "1", "--fleet-config", dir.resolve("fleet-config").toString(), "--expert-shards", "2"))
                .redirectOutput(dir.resolve("serve.out").toFile()).redirectError(err.toFile()).start();
        assertTrue(serve.waitFor(60, TimeUnit.SECONDS), "serve did not exit");
        String log = Files.readString(err);
        assertEquals(2, serve.exitValue(), log);
        assertTrue(log.contains("fleet serve: --expert-shards does not go with --fleet-config"), log);
        assertTrue(log.contains("usage: ./fleet serve"), log);
    }

    /** Polls health until it answers {@code status} (or the time is up, or serve exits); the last answer, if any. */
    private static HttpResponse<String> awaitHealth(HttpClient http, URI health, Process serve, int status, Duration within)
            throws InterruptedException {
        HttpResponse<String> last = null;
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline && serve.isAlive()) {
            try {
                last = http.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (last.statusCode() == status) {
                    return last;
                }
            } catch (IOException notListeningYet) {
                // the command has not bound its port yet
            }
            Thread.sleep(200);
        }
        return last;
    }

    /** The expert shard process listening at {@code address}: FleetProcesses does not expose its processes. */
    private static ProcessHandle expertShardProcess(Path checkpoint, String address) {
        String port = address.substring(address.lastIndexOf(':') + 1);
        List<ProcessHandle> found = ProcessHandle.allProcesses()
                .filter(p -> {
                    String line = FleetCli.commandLine(p);
                    return line.contains("io.moefleet.expert.ExpertServiceMain") && line.contains(checkpoint.toString())
                            && line.contains(" --port " + port + " ");
                })
                .toList();
        assertEquals(1, found.size(), "expert shard processes at port " + port + ": " + found);
        return found.getFirst();
    }
}
