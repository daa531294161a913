package io.moefleet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * {@code demo}: starts the fleet (two expert shards, one attention instance, the KV pool) on the demo model with the API
 * in front, streams the continuation of a text opening through {@code POST /v1/completions} (or, with {@code --chat},
 * one chat answer through {@code POST /v1/chat/completions}) to the terminal, prints what to try next and stops the
 * fleet; {@code --keep} keeps it serving until Ctrl-C. The demo model ({@code models/demo}) is a small Kimi K2-shaped
 * model trained with MuonClip on the Brown corpus by the command in the README: it writes English, not answers.
 */
final class DemoCommand implements Command {

    /** The opening the demo continues unless given another; Brown-style news prose, as the model was trained on. */
    static final String OPENING = "The committee said that";
    /** Sampling of the demo's stream: seeded, so that a run shows the same text on the engine and on the fleet. */
    static final double TEMPERATURE = 0.7;
    static final double TOP_P = 0.9;
    static final long SAMPLING_SEED = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Set<String> switches() {
        return Set.of("keep", "single-process", "chat", Tracing.SWITCH);
    }

    @Override
    public String usage() {
        return "demo [--model DIR] [--prompt TEXT] [--chat] [--max-tokens N] [--threads T] [--port P] [--keep] [--single-process | --tls-dir DIR] "
                + "[--tracing [--zipkin-port P | --otlp-endpoint URL] [--trace-sampling RATIO]]";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path dir = Path.of(args.optional("model", defaultDirectory().toString()));
        String prompt = args.optional("prompt", OPENING);
        boolean chat = args.flag("chat");
        int maxTokens = args.intValue("max-tokens", "48", 1);
        int threads = args.threads();
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
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IllegalArgumentException("no checkpoint in " + dir + ": the demo model ships in models/demo;"
                    + " the README's 'The demo model' section gives the command that trains it again");
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
            URI api = URI.create("http://127.0.0.1:" + bound);
            if (chat) {
                err.println("POST /v1/chat/completions (stream): " + prompt);
                stream(api.resolve("/v1/chat/completions"), chatBody(name, prompt, maxTokens), out, DemoCommand::chatDelta);
            } else {
                err.println("POST /v1/completions (stream): " + prompt);
                out.print(prompt);
                stream(api.resolve("/v1/completions"), completionBody(name, prompt, maxTokens), out,
                        choice -> choice.path("text").asText(""));
            }
            err.println();
            err.println("(a " + name + " model trained on the Brown corpus: English prose, not an assistant;"
                    + " sampled at temperature " + TEMPERATURE + ", seed " + SAMPLING_SEED + ")");
            err.println("Next: ./fleet demo --prompt 'It was a dark night and'   or   ./fleet demo --chat --prompt 'Tell me about the city.'");
            err.println("      ./fleet serve --model " + dir + " --port 8000 --expert-shards 2");
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

    private static String completionBody(String model, String prompt, int maxTokens) throws IOException {
        return JSON.writeValueAsString(Map.of("model", model, "stream", true, "max_tokens", maxTokens, "prompt", prompt,
                "temperature", TEMPERATURE, "top_p", TOP_P, "seed", SAMPLING_SEED));
    }

    /** A chat turn without the thinking block: the model was trained on prose, never on reasoning. */
    private static String chatBody(String model, String prompt, int maxTokens) throws IOException {
        return JSON.writeValueAsString(Map.of("model", model, "stream", true, "max_tokens", maxTokens,
                "messages", List.of(Map.of("role", "user", "content", prompt)), "chat_template_kwargs", Map.of("thinking", false),
                "temperature", TEMPERATURE, "top_p", TOP_P, "seed", SAMPLING_SEED));
    }

    private static String chatDelta(JsonNode choice) {
        return choice.path("delta").path("content").asText("");
    }

    /** Sends one streaming request and prints the text each event's first choice carries as it arrives. */
    private static void stream(URI uri, String body, PrintStream out, Function<JsonNode, String> text)
            throws IOException, InterruptedException {
        try (HttpClient client = HttpClient.newHttpClient()) {
            HttpResponse<Stream<String>> response = client.send(HttpRequest.newBuilder(uri)
                    .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofLines());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("the API answered " + response.statusCode() + ": "
                        + String.join("\n", response.body().toList()));
            }
            response.body().filter(line -> line.startsWith("data: ") && !line.equals("data: [DONE]")).forEach(line -> {
                out.print(text.apply(read(line.substring(6)).path("choices").path(0)));
                out.flush();
            });
            out.println();
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
        return Path.of(System.getProperty("fleet.home", ".")).resolve("models").resolve("demo");
    }
}
