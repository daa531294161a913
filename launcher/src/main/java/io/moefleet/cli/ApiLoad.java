package io.moefleet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * A serving benchmark's client, as vLLM's {@code benchmark_serving} measures: {@code c} concurrent streaming
 * completions of token-id prompts with {@code ignore_eos}, each token timed as its event arrives (logprobs on, so every
 * token is one event). Reports aggregate output tokens/s, time to first token and time per output token.
 */
final class ApiLoad {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI completions;
    private final String model;
    private final int vocabSize;

    ApiLoad(URI base, String model, int vocabSize) {
        this.completions = base.resolve("/v1/completions");
        this.model = model;
        this.vocabSize = vocabSize;
    }

    /** One concurrency level's figures: token rates, and the p50/p99 of TTFT and TPOT over its requests, in ms. */
    record Level(int concurrency, int requests, double outputTokensPerSecond, double ttftP50Ms, double ttftP99Ms,
            double tpotP50Ms, double tpotP99Ms, double wallSeconds) {}

    /**
     * One concurrency level measured in steady state: waves of {@code concurrency} requests at once, first for at least
     * {@code warmUp} not counted (the JIT compiles each process's code for this level's shapes; a level measured cold
     * reads the compiler, not the server), then for at least {@code window} counted, at least one wave each. Every
     * wave's prompts are fresh (no prefix of an earlier one cached), drawn from {@code seed} and the wave's number.
     */
    Level measure(int concurrency, int promptTokens, int outputTokens, long seed, Duration warmUp, Duration window)
            throws Exception {
        long wave = 0;
        for (long end = System.nanoTime() + warmUp.toNanos(); wave == 0 || System.nanoTime() < end; wave++) {
            wave(concurrency, promptTokens, outputTokens, seed * 1_000_003 + wave);
        }
        List<Timing> timings = new ArrayList<>();
        double wall = 0;
        for (long end = System.nanoTime() + window.toNanos(), counted = 0; counted == 0 || System.nanoTime() < end; counted++, wave++) {
            long start = System.nanoTime();
            timings.addAll(wave(concurrency, promptTokens, outputTokens, seed * 1_000_003 + wave));
            wall += (System.nanoTime() - start) / 1e9;
        }
        return level(concurrency, timings, wall);
    }

    /** Runs {@code concurrency} requests at once (one wave), each a fresh prompt of {@code promptTokens} ids. */
    Level run(int concurrency, int promptTokens, int outputTokens, long seed) throws Exception {
        long start = System.nanoTime();
        List<Timing> timings = wave(concurrency, promptTokens, outputTokens, seed);
        return level(concurrency, timings, (System.nanoTime() - start) / 1e9);
    }

    private List<Timing> wave(int concurrency, int promptTokens, int outputTokens, long seed) throws Exception {
        SplittableRandom random = new SplittableRandom(seed);
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < concurrency; i++) {
            prompts.add(random.ints(promptTokens, 1, vocabSize).toArray());
        }
        List<Timing> timings = new ArrayList<>();
        try (HttpClient client = HttpClient.newBuilder().executor(Executors.newVirtualThreadPerTaskExecutor()).build();
                ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Timing>> futures = new ArrayList<>();
            for (int[] prompt : prompts) {
                futures.add(pool.submit(() -> stream(client, prompt, outputTokens)));
            }
            for (Future<Timing> future : futures) {
                timings.add(future.get());
            }
        }
        return timings;
    }

    /** A level's figures from its requests' timings over {@code wallSeconds} of waves. */
    private static Level level(int concurrency, List<Timing> timings, double wallSeconds) {
        long tokens = timings.stream().mapToLong(Timing::tokens).sum();
        double[] ttft = timings.stream().mapToDouble(Timing::ttftMs).sorted().toArray();
        double[] tpot = timings.stream().mapToDouble(Timing::tpotMs).sorted().toArray();
        return new Level(concurrency, timings.size(), tokens / wallSeconds, percentile(ttft, 50), percentile(ttft, 99),
                percentile(tpot, 50), percentile(tpot, 99), wallSeconds);
    }

    /** One request: its output tokens, time to first token and time per output token. */
    record Timing(long tokens, double ttftMs, double tpotMs) {}

    /** One streamed request, through {@code client}, of a fresh prompt of {@code promptTokens} ids drawn from {@code seed}. */
    Timing once(HttpClient client, int promptTokens, int outputTokens, long seed) throws IOException, InterruptedException {
        return stream(client, new SplittableRandom(seed).ints(promptTokens, 1, vocabSize).toArray(), outputTokens);
    }

    private Timing stream(HttpClient client, int[] prompt, int outputTokens) throws IOException, InterruptedException {
        String body = JSON.writeValueAsString(Map.of("model", model, "prompt", Arrays.stream(prompt).boxed().toList(),
                "max_tokens", outputTokens, "temperature", 0, "stream", true, "ignore_eos", true, "logprobs", 0,
                "return_tokens_as_token_ids", true));
        long sent = System.nanoTime();
        HttpResponse<Stream<String>> response = client.send(HttpRequest.newBuilder(completions)
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofLines());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("the API answered " + response.statusCode() + ": " + String.join("\n", response.body().toList()));
        }
        long[] first = {0};
        long[] last = {0};
        long[] tokens = {0};
        response.body().filter(line -> line.startsWith("data: {")).forEach(line -> {
            JsonNode tokensOfEvent = read(line.substring(6)).path("choices").path(0).path("logprobs").path("tokens");
            if (tokensOfEvent.isArray() && !tokensOfEvent.isEmpty()) {
                long now = System.nanoTime();
                if (tokens[0] == 0) {
                    first[0] = now;
                }
                last[0] = now;
                tokens[0] += tokensOfEvent.size();
            }
        });
        if (tokens[0] == 0) {
            throw new IllegalStateException("a request streamed no token");
        }
        double tpot = tokens[0] > 1 ? (last[0] - first[0]) / 1e6 / (tokens[0] - 1) : 0;
        return new Timing(tokens[0], (first[0] - sent) / 1e6, tpot);
    }

    private static JsonNode read(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException("bad JSON event: " + json, e);
        }
    }

    static double percentile(double[] sorted, int p) {
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }
}
