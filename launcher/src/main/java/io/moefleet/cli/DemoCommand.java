package io.moefleet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.cli.fleet.FleetLayout;
import io.moefleet.cli.fleet.FleetProcesses;
import io.moefleet.cli.fleet.FleetStartException;
import io.moefleet.router.RouterService;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

/**
 * {@code demo}: makes the demo checkpoint if it is missing, starts the fleet (two expert shards, one attention
 * instance, the KV pool) with the API in front, streams one chat answer through {@code POST /v1/chat/completions} to
 * the terminal, prints what to try next and stops the fleet; {@code --keep} keeps it serving until Ctrl-C. The weights
 * are random, so the text means nothing; it shows the whole path from an HTTP request to streamed tokens.
 */
final class DemoCommand implements Command {

    static final long DEMO_SEED = 2026;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Set<String> switches() {
        return Set.of("keep", "single-process", Tracing.SWITCH);
    }

    @Override
    public String usage() {
        return "demo [--model DIR] [--prompt TEXT] [--max-tokens N] [--threads T] [--port P] [--keep] [--single-process | --tls-dir DIR] "
                + "[--tracing [--zipkin-port P | --otlp-endpoint URL] [--trace-sampling RATIO]]";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path dir = Path.of(args.optional("model", defaultDirectory().toString()));
        String prompt = args.optional("prompt", "Which expert answers first?");
        int maxTokens = args.intValue("max-tokens", "32", 1);
        int threads = args.intValue("threads", String.valueOf(Runtime.getRuntime().availableProcessors()), 1);
        int port = args.intValue("port", "0", 0);
        boolean keep = args.flag("keep");
        boolean singleProcess = args.flag("single-process");
        String tlsDir = args.optional("tls-dir", null);
        if (singleProcess && tlsDir != null) {
            throw new UsageException("demo: --tls-dir goes with the fleet, not --single-process");
        }
        Tracing tracing = Tracing.parse("demo", args);
        OpenTelemetry telemetry = tracing.on() ? RouterTelemetry.open("demo", args, tracing) : OpenTelemetry.noop();
        args.rejectUnknown();
        if (!Files.exists(dir.resolve("config.json"))) {
            err.println("making the demo checkpoint in " + dir + " (preset demo, seed " + DEMO_SEED + ")");
            CheckpointWriter.write(Preset.config("demo"), DEMO_SEED, WeightFormat.BF16, dir);
        }
        String name = dir.toAbsolutePath().normalize().getFileName().toString();
        RouterService.Settings settings = ServeCommand.settings(Args.parse("demo", new String[0], 0, Set.of()), dir, "127.0.0.1", port);
        ServingStack.Backend backend = ServingStack.Backend.of(singleProcess ? null : demoLayout(dir, tlsDir));
        long start = System.nanoTime();
        ServingStack stack;
        try {
            if (tracing.on()) {
                // Zipkin first, its log beside the services'
                Path logs = FleetProcesses.newLogFolder(FleetOptions.logsRoot());
                tracing.start(logs, err);
                if (backend instanceof ServingStack.Backend.LocalFleet fleet) {
                    backend = fleet.tracedAs(tracing, logs);
                }
            }
            stack = ServingStack.start(dir, backend, threads, settings, telemetry, err, () -> { });
        } catch (FleetStartException e) {
            tracing.close();
            err.println("demo: " + e.getMessage());
            return 1;
        } catch (RuntimeException e) {
            tracing.close();
            throw e;
        }
        try {
            int bound = stack.router().port();
            err.printf("%s serving '%s' on http://127.0.0.1:%d after %.1f s%n", singleProcess ? "the engine is" : "the fleet is",
                    name, bound, (System.nanoTime() - start) / 1e9);
            err.println("POST /v1/chat/completions (stream): " + prompt);
            streamChat(URI.create("http://127.0.0.1:" + bound + "/v1/chat/completions"), name, prompt, maxTokens, out);
            err.println();
            err.println("(random weights: the text has no meaning; reasoning is shown in [brackets])");
            err.println("Next: ./fleet serve --model " + dir + " --port 8000 --expert-shards 2");
            err.println("      " + ServeCommand.curlLine("127.0.0.1", keep ? bound : 8000, name));
            err.println("      ./fleet checkpoint --preset small --seed 1 --out /tmp/small   (the benchmark shape)");
            if (tracing.uiUrl() != null) {
                err.println("      traces: " + tracing.uiUrl() + (keep ? "" : " (Zipkin stops with the demo: --keep keeps both)"));
            }
            if (keep) {
                err.println("--keep: serving on port " + bound + " until Ctrl-C");
                CountDownLatch stopped = new CountDownLatch(1);
                tracing.closeAtExitWith(new Thread(() -> {
                    stack.drainAndClose(Duration.ofSeconds(30));
                    tracing.close(telemetry);
                    stopped.countDown();
                }, "fleet-demo-stop"));
                stack.stopServicesOnlyWhenClosed();
                stopped.await();
                return 0;
            }
        } catch (RuntimeException | IOException e) {
            stack.close();
            tracing.close(telemetry);
            throw e;
        }
        stack.close();
        tracing.close(telemetry);
        return 0;
    }

    /**
     * Two expert shards, one attention instance, the default KV pool: the fleet's every kind of service; over mutual TLS
     * with the certificates in {@code tlsDir} when given.
     */
    private static FleetLayout demoLayout(Path dir, String tlsDir) {
        Args placement = Args.parse("demo", tlsDir == null ? new String[] {"--expert-shards", "2"}
                : new String[] {"--expert-shards", "2", "--tls-dir", tlsDir}, 0, Set.of());
        return FleetOptions.layout("demo", placement, dir);
    }

    /** Sends one streaming chat request and prints each content (and [reasoning]) delta as its event arrives. */
    private static void streamChat(URI uri, String model, String prompt, int maxTokens, PrintStream out)
            throws IOException, InterruptedException {
        String body = JSON.writeValueAsString(Map.of("model", model, "stream", true, "max_tokens", maxTokens,
                "messages", List.of(Map.of("role", "user", "content", prompt))));
        try (HttpClient client = HttpClient.newHttpClient()) {
            HttpResponse<Stream<String>> response = client.send(HttpRequest.newBuilder(uri)
                    .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofLines());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("the API answered " + response.statusCode() + ": "
                        + String.join("\n", response.body().toList()));
            }
            boolean[] reasoning = {false};
            response.body().filter(line -> line.startsWith("data: ") && !line.equals("data: [DONE]")).forEach(line -> {
                JsonNode delta = read(line.substring(6)).path("choices").path(0).path("delta");
                String thought = delta.path("reasoning_content").asText("");
                String content = delta.path("content").asText("");
                if (!thought.isEmpty()) {
                    out.print((reasoning[0] ? "" : "[") + thought);
                    reasoning[0] = true;
                }
                if (!content.isEmpty()) {
                    out.print((reasoning[0] ? "] " : "") + content);
                    reasoning[0] = false;
                }
                out.flush();
            });
            out.println(reasoning[0] ? "]" : "");
        }
    }

    private static JsonNode read(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException("the API streamed bad JSON: " + json, e);
        }
    }

    static Path defaultDirectory() {
        return Path.of(System.getProperty("fleet.home", ".")).resolve("build").resolve("demo-checkpoint");
    }
}
