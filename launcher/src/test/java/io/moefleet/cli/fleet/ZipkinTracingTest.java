package io.moefleet.cli.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.rpc.ListenPorts;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./fleet serve --tracing}: Zipkin's server starts with the fleet, every process (the router, both expert shards,
 * the attention instance) exports its spans to it, a step's attention and expert calls are parented across processes in
 * one trace, and stopping serve stops Zipkin too.
 */
@Timeout(240)
class ZipkinTracingTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern TRACES = Pattern.compile("traces: (http://127\\.0\\.0\\.1:(\\d+))/zipkin/");
    private static final String ROUTER = "moefleet-router";
    private static final String EXPERT = "expert-service";
    private static final String ATTENTION = "attention-service";

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void everyProcessExportsToTheZipkinServeStartsAndStopsWithIt() throws Exception {
        Path tiny = dir.resolve("tiny");
        CheckpointWriter.write(Preset.config("tiny"), 5, WeightFormat.BF16, tiny);
        int port = ListenPorts.take();
        Path err = dir.resolve("serve.err");
        Process serve = new ProcessBuilder(FleetCli.command(dir, null, "serve", "--model", tiny.toString(), "--port",
                Integer.toString(port), "--expert-shards", "2", "--attention-instances", "1", "--kv-members", "1",
                "--service-threads", "1", "--tracing", "--zipkin-port", "0"))
                .redirectOutput(dir.resolve("serve.out").toFile()).redirectError(err.toFile()).start();
        ProcessHandle zipkin = null;
        int zipkinPort = -1;
        try {
            // the URL is printed once Zipkin is healthy, before the fleet starts
            Matcher printed = awaitPrinted(serve, err, Duration.ofSeconds(90));
            String zipkinBase = printed.group(1);
            zipkinPort = Integer.parseInt(printed.group(2));
            zipkin = zipkinProcess(zipkinPort).orElse(null);
            assertNotNull(zipkin, "no zipkin-server.jar process on port " + zipkinPort + ": " + Files.readString(err));
            assertTrue(serve.descendants().anyMatch(zipkin::equals), "Zipkin is serve's child");
            assertEquals(200, get(zipkinBase + "/health").statusCode());

            FleetCli.awaitServing(serve, port, err);
            // a chat request whose client traces it: its trace id is the client's
            HttpResponse<String> completion = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                    .header("content-type", "application/json").header("traceparent", "00-" + CLIENT_TRACE + "-" + CLIENT_SPAN + "-01")
                    .POST(HttpRequest.BodyPublishers.ofString("""
                            {"model": "tiny", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 4, "temperature": 0,
                             "ignore_eos": true}""")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, completion.statusCode(), completion.body());

            // spans arrive in batches every 500 ms from each process
            String missing = "nothing asked yet";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                missing = missingFromZipkin(zipkinBase);
                if (missing == null) {
                    missing = missingFromRequestTrace(zipkinBase);
                }
                if (missing == null) {
                    break;
                }
                Thread.sleep(500);
            }
            assertEquals(null, missing, "Zipkin at " + zipkinBase + " lacks spans: " + missing);
        } finally {
            serve.destroy();                                   // SIGTERM, as Ctrl-C
            boolean stopped = serve.waitFor(60, TimeUnit.SECONDS);
            if (!stopped) {
                serve.destroyForcibly();
            }
            boolean zipkinAlive = zipkin != null && zipkin.isAlive();
            if (zipkinAlive) {
                zipkin.destroyForcibly();                      // no Zipkin outlives a failed test
            }
            assertTrue(stopped, "serve did not stop");
            assertFalse(zipkinAlive, "Zipkin outlived serve");
        }
        FleetCli.assertNoServiceProcessLeft(serve.pid(), tiny);
        int stoppedPort = zipkinPort;
        assertEquals(Optional.empty(), zipkinProcess(stoppedPort).map(p -> p.pid() + " " + FleetCli.commandLine(p)),
                "a zipkin-server.jar process is left");
        // Zipkin stops last: the router and every service sent their spans without a failure, up to their exit
        List<Path> logs = new ArrayList<>(List.of(err));
        try (var files = Files.walk(dir.resolve("build").resolve("fleet-logs"))) {
            files.filter(file -> file.toString().endsWith(".log") && !file.endsWith("zipkin.log")).forEach(logs::add);
        }
        assertTrue(logs.size() >= 5, "serve's and the services' logs: " + logs);
        for (Path log : logs) {
            String text = Files.readString(log);
            assertFalse(text.contains("Failed to export"), log + ":\n" + text);
        }
    }

    @Test
    void zipkinPortWithoutTracingIsAUsageError() throws Exception {
        Path err = dir.resolve("usage.err");
        Process serve = new ProcessBuilder(FleetCli.command(dir, null, "serve", "--model", dir.resolve("none").toString(),
                "--port", "8000", "--expert-shards", "2", "--zipkin-port", "9411"))
                .redirectOutput(dir.resolve("usage.out").toFile()).redirectError(err.toFile()).start();
        assertTrue(serve.waitFor(60, TimeUnit.SECONDS), "serve did not exit");
        String printed = Files.readString(err);
        assertEquals(2, serve.exitValue(), printed);
        assertTrue(printed.contains("--zipkin-port goes with --tracing"), printed);
        assertTrue(printed.contains("usage: ./fleet serve"), printed);
    }

    private static final String CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String CLIENT_SPAN = "00f067aa0ba902b7";

    /**
     * Null once the request's trace, under the client's trace id, has the router's HTTP span as its root (its parent
     * the client's span), the request's queue, admission and step spans under it, and a step whose attention and expert
     * calls were served by every service process; else what is missing.
     */
    private String missingFromRequestTrace(String zipkinBase) throws IOException, InterruptedException {
        HttpResponse<String> answer = get(zipkinBase + "/api/v2/trace/" + CLIENT_TRACE);
        if (answer.statusCode() != 200) {
            return "no trace " + CLIENT_TRACE + " yet (" + answer.statusCode() + ")";
        }
        JsonNode trace = JSON.readTree(answer.body());
        JsonNode http = null;
        for (JsonNode span : trace) {
            if (service(span).equals(ROUTER) && "SERVER".equals(span.path("kind").asText())) {
                http = span;
            }
        }
        if (http == null || !http.path("parentId").asText().equals(CLIENT_SPAN)
                || !http.path("name").asText().equalsIgnoreCase("post /v1/chat/completions")) {
            return "the request's HTTP span (child of the client's) is not there: " + trace;
        }
        String httpId = http.path("id").asText();
        Set<String> under = new HashSet<>();
        for (JsonNode span : trace) {
            if (span.path("parentId").asText().equals(httpId)) {
                under.add(span.path("name").asText());
            }
        }
        if (!under.containsAll(List.of("queue", "admission", "step"))) {
            return "under the HTTP span: " + under;
        }
        if (!"chat".equals(http.path("tags").path("gen_ai.operation.name").asText())) {
            return "the HTTP span's GenAI tags: " + http.path("tags");
        }
        return stepWithRemoteChildren(trace);
    }

    /**
     * Null once Zipkin holds spans of the router and of every service, and a trace in which a router "step" span has
     * attention and expert client spans (descendants of it) whose children are server spans of the attention instance
     * and of both expert shards (told apart by the port each client span called); else what is missing.
     */
    private String missingFromZipkin(String zipkinBase) throws IOException, InterruptedException {
        HttpResponse<String> services = get(zipkinBase + "/api/v2/services");
        Set<String> names = new HashSet<>();
        JSON.readTree(services.body()).forEach(name -> names.add(name.asText()));
        if (!names.containsAll(List.of(ROUTER, EXPERT, ATTENTION))) {
            return "services " + names;
        }
        JsonNode traces = JSON.readTree(get(zipkinBase + "/api/v2/traces?serviceName=" + ROUTER + "&spanName=step&limit=100").body());
        List<String> seen = new ArrayList<>();
        for (JsonNode trace : traces) {
            String verdict = stepWithRemoteChildren(trace);
            if (verdict == null) {
                return null;
            }
            seen.add(verdict);
        }
        return traces.size() + " traces with a step span: " + seen;
    }

    /** Null when {@code trace} has the step described above, else why not. */
    private static String stepWithRemoteChildren(JsonNode trace) {
        Map<String, JsonNode> byId = new HashMap<>();
        Map<String, List<JsonNode>> children = new HashMap<>();
        for (JsonNode span : trace) {
            byId.put(span.path("id").asText(), span);
            if (span.hasNonNull("parentId")) {
                children.computeIfAbsent(span.path("parentId").asText(), k -> new ArrayList<>()).add(span);
            }
        }
        String why = "no router step span";
        for (JsonNode step : trace) {
            if (!service(step).equals(ROUTER) || !step.path("name").asText().equals("step")) {
                continue;
            }
            Set<String> expertPorts = new HashSet<>();
            int attentionCalls = 0;
            for (JsonNode client : trace) {
                if (!service(client).equals(ROUTER) || !"CLIENT".equals(client.path("kind").asText())
                        || !descends(client, step, byId)) {
                    continue;
                }
                String name = client.path("name").asText().toLowerCase();
                String server = name.contains("expertservice/") ? EXPERT : name.contains("attentionservice/") ? ATTENTION : null;
                boolean served = server != null && children.getOrDefault(client.path("id").asText(), List.of()).stream()
                        .anyMatch(child -> "SERVER".equals(child.path("kind").asText()) && service(child).equals(server)
                                && child.path("name").asText().equalsIgnoreCase(client.path("name").asText()));
                if (served && server.equals(EXPERT)) {
                    expertPorts.add(peerPort(client));
                } else if (served) {
                    attentionCalls++;
                }
            }
            if (attentionCalls > 0 && expertPorts.size() == 2) {
                return null;
            }
            why = "step " + step.path("id").asText() + ": " + attentionCalls + " attention call(s) served, expert calls served by ports "
                    + expertPorts;
        }
        return why;
    }

    private static boolean descends(JsonNode span, JsonNode ancestor, Map<String, JsonNode> byId) {
        String ancestorId = ancestor.path("id").asText();
        JsonNode at = span;
        for (int hops = 0; at != null && at.hasNonNull("parentId") && hops < 100; hops++) {
            String parent = at.path("parentId").asText();
            if (parent.equals(ancestorId)) {
                return true;
            }
            at = byId.get(parent);
        }
        return false;
    }

    private static String service(JsonNode span) {
        return span.path("localEndpoint").path("serviceName").asText();
    }

    /** The port a client span called: its remote endpoint's, else a tag's. */
    private static String peerPort(JsonNode client) {
        JsonNode remote = client.path("remoteEndpoint").path("port");
        if (!remote.isMissingNode()) {
            return remote.asText();
        }
        JsonNode tags = client.path("tags");
        return tags.path("server.port").asText(tags.path("network.peer.port").asText("?"));
    }

    private static Matcher awaitPrinted(Process serve, Path err, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline && serve.isAlive()) {
            Matcher matcher = TRACES.matcher(Files.readString(err));
            if (matcher.find()) {
                return matcher;
            }
            Thread.sleep(200);
        }
        fail("serve printed no Zipkin URL: " + Files.readString(err));
        return null;
    }

    /** The live zipkin-server.jar process listening on {@code port}, found by its command line. */
    private static Optional<ProcessHandle> zipkinProcess(int port) {
        return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive).filter(p -> {
            String line = FleetCli.commandLine(p);
            return line.contains("zipkin-server.jar") && line.contains("--armeria.ports[0].port=" + port + " ");
        }).findFirst();
    }

    private HttpResponse<String> get(String uri) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(uri)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
