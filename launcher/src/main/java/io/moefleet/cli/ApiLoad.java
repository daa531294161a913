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
import java.util.function.Supplier;
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

    /**
     * One concurrency level's figures: token rates, and the p50/p99 of TTFT and TPOT over its requests, in ms; the
     * seconds of waves measured, and of waves before them not counted.
     */
    record Level(int concurrency, int requests, double outputTokensPerSecond, double ttftP50Ms, double ttftP99Ms,
            double tpotP50Ms, double tpotP99Ms, double wallSeconds, double warmUpSeconds) {}

    /**
     * How long a level warms up before it is measured: at least {@code least}; then on, a {@code step} at a time, for as
     * long as a step's output rate beats every earlier step's by more than {@link #STILL_RISING}, up to {@code most} in
     * all. Each process's JIT compiler reaches a level's steady state at its own pace, and a fleet's five take longer
     * than the engine's one (2026-12-07, concurrency 1, runs an hour apart: the fleet 33.0 tokens/s after 30 s of
     * warm-up and 39.4 after 120 s, the engine 67.4 and 63.9).
     */
    record WarmUp(Duration least, Duration most, Duration step) {

        static final double STILL_RISING = 0.03;

        /** One warm-up step: runs it and returns its output tokens per second. */
        interface Step {
            double run() throws Exception;
        }

        /**
         * The warm-up past {@code least}: {@code step} run for as long as another fits within {@link #most} (by
         * {@code elapsed}, since the warm-up began) and the last one's rate beat every earlier one's by more than
         * {@link #STILL_RISING}. Returns the steps run.
         */
        int stepsPastLeast(Supplier<Duration> elapsed, Step step) throws Exception {
            int steps = 0;
            for (double best = 0; !this.step.isZero() && elapsed.get().plus(this.step).compareTo(most) <= 0; ) {
                double rate = step.run();
                steps++;
                boolean rising = rate > best * (1 + STILL_RISING);
                best = Math.max(best, rate);
                if (!rising) {
                    break;
                }
            }
            return steps;
        }
    }

    /**
     * One concurrency level measured in steady state: waves of {@code concurrency} requests at once, first as long as
     * {@code warmUp} says, not counted (the JIT compiles each process's code for this level's shapes; a level measured
     * cold reads the compiler, not the server), then for at least {@code window} counted, at least one wave each. Every
     * wave's prompts are fresh (no prefix of an earlier one cached), drawn from {@code seed} and the wave's number.
     */
    Level measure(int concurrency, int promptTokens, int outputTokens, long seed, WarmUp warmUp, Duration window)
            throws Exception {
        Waves waves = new Waves(concurrency, promptTokens, outputTokens, seed);
        long started = System.nanoTime();
        waves.runFor(warmUp.least());
        warmUp.stepsPastLeast(() -> Duration.ofNanos(System.nanoTime() - started),
                () -> waves.runFor(warmUp.step()).outputTokensPerSecond());
        double warmedSeconds = (System.nanoTime() - started) / 1e9;
        return level(concurrency, waves.runFor(window), warmedSeconds);
    }

    /** Waves' requests, and the seconds the waves took from each one's start to its last answer. */
    private record Run(List<Timing> timings, double wallSeconds) {

        double outputTokensPerSecond() {
            return timings.stream().mapToLong(Timing::tokens).sum() / wallSeconds;
        }
    }

    /** A level's waves in turn, each with fresh prompts: the wave's number goes into its seed. */
    private final class Waves {

        private final int concurrency;
        private final int promptTokens;
        private final int outputTokens;
        private final long seed;
        private long next;

        Waves(int concurrency, int promptTokens, int outputTokens, long seed) {
            this.concurrency = concurrency;
            this.promptTokens = promptTokens;
            this.outputTokens = outputTokens;
            this.seed = seed;
        }

        /** Waves until {@code duration} has passed, at least one. */
        Run runFor(Duration duration) throws Exception {
            List<Timing> timings = new ArrayList<>();
            double wall = 0;
            for (long end = System.nanoTime() + duration.toNanos(), run = 0; run == 0 || System.nanoTime() < end; run++) {
                long start = System.nanoTime();
                timings.addAll(wave(concurrency, promptTokens, outputTokens, seed * 1_000_003 + next++));
                wall += (System.nanoTime() - start) / 1e9;
            }
            return new Run(timings, wall);
        }
    }

    /** Runs {@code concurrency} requests at once (one wave), each a fresh prompt of {@code promptTokens} ids. */
    Level run(int concurrency, int promptTokens, int outputTokens, long seed) throws Exception {
        long start = System.nanoTime();
        List<Timing> timings = wave(concurrency, promptTokens, outputTokens, seed);
        return level(concurrency, new Run(timings, (System.nanoTime() - start) / 1e9), 0);
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

    /** A level's figures from its waves' requests, after {@code warmUpSeconds} of waves not counted. */
    private static Level level(int concurrency, Run run, double warmUpSeconds) {
        double[] ttft = run.timings().stream().mapToDouble(Timing::ttftMs).sorted().toArray();
        double[] tpot = run.timings().stream().mapToDouble(Timing::tpotMs).sorted().toArray();
        return new Level(concurrency, run.timings().size(), run.outputTokensPerSecond(), percentile(ttft, 50),
                percentile(ttft, 99), percentile(tpot, 50), percentile(tpot, 99), run.wallSeconds(), warmUpSeconds);
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
