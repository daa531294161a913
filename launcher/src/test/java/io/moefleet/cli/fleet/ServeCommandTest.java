package io.moefleet.cli.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.engine.Engine;
import io.moefleet.rpc.ListenPorts;
import io.moefleet.sampling.SamplingParams;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./fleet serve}: health answers 503 while the fleet starts, 200 once it serves; a completion through the fleet's
 * API gives the engine's greedy tokens; stopping it leaves no service.
 */
@Timeout(150)
class ServeCommandTest {

    @TempDir
    Path dir;

    @Test
    void healthTurnsServingTheApiAnswersAsTheEngineAndStoppingLeavesNoProcess() throws Exception {
        Path tiny = dir.resolve("tiny");
        CheckpointWriter.write(Preset.config("tiny"), 5, WeightFormat.BF16, tiny);
        int port = ListenPorts.take();
        Path err = dir.resolve("serve.err");
        Process serve = new ProcessBuilder(FleetCli.command(dir, null, "serve", "--model", tiny.toString(), "--port",
                Integer.toString(port), "--expert-shards", "2", "--attention-instances", "1", "--kv-members", "1",
                "--service-threads", "1"))
                .redirectOutput(dir.resolve("serve.out").toFile()).redirectError(err.toFile()).start();
        try {
            HttpClient http = HttpClient.newHttpClient();
            URI health = URI.create("http://127.0.0.1:" + port + "/health");
            HttpResponse<String> last = null;
            boolean sawStarting = false;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline && serve.isAlive()) {
                try {
                    last = http.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(5)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    sawStarting |= last.statusCode() == 503;
                    if (last.statusCode() == 200) {
                        break;
                    }
                } catch (IOException notListeningYet) {
                    // the command has not bound its port yet
                }
                Thread.sleep(200);
            }
            assertTrue(last != null && last.statusCode() == 200, "health never turned 200: " + Files.readString(err));
            assertEquals("{\"status\":\"serving\"}", last.body());
            assertTrue(sawStarting, "health answered 503 while the fleet started");
            assertTrue(Files.readString(err).contains("serving tiny as 'tiny' on http://127.0.0.1:" + port), Files.readString(err));
            HttpResponse<String> completion = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                    .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString("""
                            {"model": "tiny", "prompt": [5, 6, 7, 8], "max_tokens": 6, "temperature": 0, "ignore_eos": true,
                             "logprobs": 0, "return_tokens_as_token_ids": true}""")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, completion.statusCode(), completion.body());
            List<String> tokens = new ArrayList<>();
            new ObjectMapper().readTree(completion.body()).at("/choices/0/logprobs/tokens").forEach(t -> tokens.add(t.asText()));
            try (Engine engine = Engine.open(tiny, (done, total) -> { })) {
                assertEquals(Arrays.stream(engine.generate(new int[] {5, 6, 7, 8}, 6, SamplingParams.greedy()))
                        .mapToObj(id -> "token_id:" + id).toList(), tokens);
            }
            assertEquals(404, http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/nothing")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode());
        } finally {
            serve.destroy();                                   // SIGTERM, as Ctrl-C or a pod's stop
            assertTrue(serve.waitFor(60, TimeUnit.SECONDS), "serve did not stop");
        }
        FleetCli.assertNoServiceProcessLeft(serve.pid(), tiny);
    }

    @Test
    void aStreamUnderWayWhenServeIsStoppedFinishesBeforeTheServicesStop() throws Exception {
        Path tiny = dir.resolve("tiny");
        CheckpointWriter.write(Preset.config("tiny"), 5, WeightFormat.BF16, tiny);
        int port = ListenPorts.take();
        Path err = dir.resolve("drain.err");
        Process serve = new ProcessBuilder(FleetCli.command(dir, null, "serve", "--model", tiny.toString(), "--port",
                Integer.toString(port), "--expert-shards", "2", "--attention-instances", "1", "--kv-members", "1",
                "--service-threads", "1"))
                .redirectOutput(dir.resolve("drain.out").toFile()).redirectError(err.toFile()).start();
        try {
            HttpClient http = HttpClient.newHttpClient();
            FleetCli.awaitServing(serve, port, err);
            HttpResponse<java.io.InputStream> stream = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/v1/completions")).header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("""
                            {"model": "tiny", "prompt": [5, 6, 7, 8], "max_tokens": 400, "temperature": 0, "ignore_eos": true,
                             "stream": true}""")).build(), HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, stream.statusCode());
            var lines = new java.io.BufferedReader(new java.io.InputStreamReader(stream.body(), java.nio.charset.StandardCharsets.UTF_8));
            int events = 0;
            while (events < 3) {                               // the stream is under way
                String line = lines.readLine();
                if (line != null && line.startsWith("data: ")) {
                    events++;
                }
            }
            serve.destroy();                                   // SIGTERM, as a pod's stop: the API drains
            String finish = null;
            boolean done = false;
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.equals("data: [DONE]")) {
                    done = true;
                } else if (line.startsWith("data: ")) {
                    var choice = new ObjectMapper().readTree(line.substring(6)).path("choices").path(0);
                    if (!choice.path("finish_reason").isNull() && !choice.path("finish_reason").isMissingNode()) {
                        finish = choice.path("finish_reason").asText();
                    }
                }
            }
            assertTrue(done, "the stream was cut: " + Files.readString(err));
            assertEquals("length", finish, "all 400 tokens came: the services served until the drain ended");
            assertTrue(serve.waitFor(60, TimeUnit.SECONDS), "serve did not stop");
        } finally {
            serve.destroyForcibly();
        }
        FleetCli.assertNoServiceProcessLeft(serve.pid(), tiny);
    }
}
