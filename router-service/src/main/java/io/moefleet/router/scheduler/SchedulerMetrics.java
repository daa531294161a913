package io.moefleet.router.scheduler;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongHistogram;
import io.opentelemetry.api.metrics.Meter;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The scheduler's queues, steps and requests as Prometheus metrics (vLLM-like names under {@code moefleet_}), and the
 * requests' latencies and token counts under the OpenTelemetry GenAI names too: as OpenTelemetry instruments (exported
 * over OTLP when the SDK is configured so) and, scraped beside the rest, as Prometheus metrics with those names.
 */
public final class SchedulerMetrics {

    private static final double[] LATENCY_BOUNDS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    final Gauge waiting;
    final Gauge running;
    final Gauge admitting;
    final Counter rejected;
    final Counter cancelled;
    final Counter finished;
    final Counter failed;
    final Counter promptTokens;
    final Counter generatedTokens;
    final Counter steps;
    final Histogram stepSeconds;
    final Histogram queueWaitSeconds;
    final Histogram timeToFirstTokenSeconds;
    private final Histogram timePerOutputTokenSeconds;
    private final Histogram requestSeconds;
    private final Histogram requestPromptTokens;
    private final Histogram requestGenerationTokens;
    private final Histogram genAiTimeToFirstToken;
    private final Histogram genAiTimePerOutputToken;
    private final Histogram genAiRequestDuration;
    private final Histogram genAiTokenUsage;
    private final DoubleHistogram otelTimeToFirstToken;
    private final DoubleHistogram otelTimePerOutputToken;
    private final DoubleHistogram otelRequestDuration;
    private final LongHistogram otelTokenUsage;

    private static final double[] TOKEN_BOUNDS = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576};
    static final AttributeKey<String> TOKEN_TYPE = AttributeKey.stringKey("gen_ai.token.type");
    private static final Attributes INPUT = Attributes.of(TOKEN_TYPE, "input");
    private static final Attributes OUTPUT = Attributes.of(TOKEN_TYPE, "output");

    public SchedulerMetrics(PrometheusRegistry registry) {
        this(registry, OpenTelemetry.noop());
    }

    public SchedulerMetrics(PrometheusRegistry registry, OpenTelemetry openTelemetry) {
        waiting = Gauge.builder().name("moefleet_scheduler_waiting")
                .help("Requests waiting for a place in the running batch").register(registry);
        running = Gauge.builder().name("moefleet_scheduler_running")
                .help("Sequences in the running batch (each holds a KV cache)").register(registry);
        admitting = Gauge.builder().name("moefleet_scheduler_admitting")
                .help("Sequences being admitted (instance chosen, cached prefix restored) while the batch steps on")
                .register(registry);
        rejected = Counter.builder().name("moefleet_scheduler_rejected")
                .help("Requests turned away before running, by reason").labelNames("reason").register(registry);
        cancelled = Counter.builder().name("moefleet_scheduler_cancelled")
                .help("Generations cancelled (client gone); their KV freed at the next step").register(registry);
        finished = Counter.builder().name("moefleet_scheduler_finished")
                .help("Generations ended normally, by finish reason").labelNames("reason").register(registry);
        failed = Counter.builder().name("moefleet_scheduler_failed")
                .help("Generations ended by an error (a failed step or listener)").register(registry);
        promptTokens = Counter.builder().name("moefleet_prompt_tokens")
                .help("Prompt tokens prefilled").register(registry);
        generatedTokens = Counter.builder().name("moefleet_generation_tokens")
                .help("Tokens sampled").register(registry);
        steps = Counter.builder().name("moefleet_scheduler_steps")
                .help("Model steps run").register(registry);
        stepSeconds = latency(registry, "moefleet_scheduler_step_seconds", "Wall time of one model step over the batch");
        queueWaitSeconds = latency(registry, "moefleet_scheduler_queue_wait_seconds",
                "Time from submission to a place in the running batch");
        timeToFirstTokenSeconds = latency(registry, "moefleet_time_to_first_token_seconds",
                "Time from submission to the first sampled token");
        timePerOutputTokenSeconds = latency(registry, "moefleet_time_per_output_token_seconds",
                "Time between two sampled tokens of a sequence");
        requestSeconds = latency(registry, "moefleet_e2e_request_latency_seconds",
                "Time from submission to the end of a generation");
        requestPromptTokens = tokens(registry, "moefleet_request_prompt_tokens", "Prompt tokens of each finished generation");
        requestGenerationTokens = tokens(registry, "moefleet_request_generation_tokens", "Tokens sampled by each finished generation");
        // the same measurements under the GenAI semantic conventions' names (units in the Prometheus names)
        genAiTimeToFirstToken = latency(registry, "gen_ai_server_time_to_first_token_seconds",
                "gen_ai.server.time_to_first_token: time to generate the first token");
        genAiTimePerOutputToken = latency(registry, "gen_ai_server_time_per_output_token_seconds",
                "gen_ai.server.time_per_output_token: time per output token after the first");
        genAiRequestDuration = latency(registry, "gen_ai_server_request_duration_seconds",
                "gen_ai.server.request.duration: generation duration");
        genAiTokenUsage = Histogram.builder().name("gen_ai_client_token_usage")
                .help("gen_ai.client.token.usage: input and output tokens per generation").labelNames("gen_ai_token_type")
                .classicOnly().classicUpperBounds(TOKEN_BOUNDS).withoutExemplars().register(registry);
        Meter meter = openTelemetry.getMeter("io.moefleet.router");
        otelTimeToFirstToken = seconds(meter, "gen_ai.server.time_to_first_token", "Time to generate the first token");
        otelTimePerOutputToken = seconds(meter, "gen_ai.server.time_per_output_token", "Time per output token after the first");
        otelRequestDuration = seconds(meter, "gen_ai.server.request.duration", "Generation duration");
        otelTokenUsage = meter.histogramBuilder("gen_ai.client.token.usage").ofLongs().setUnit("{token}")
                .setDescription("Input and output tokens per generation")
                .setExplicitBucketBoundariesAdvice(java.util.Arrays.stream(TOKEN_BOUNDS).mapToLong(b -> (long) b).boxed().toList())
                .build();
    }

    /** A sequence's first token, {@code seconds} after its submission. */
    void firstToken(double seconds) {
        timeToFirstTokenSeconds.observe(seconds);
        genAiTimeToFirstToken.observe(seconds);
        otelTimeToFirstToken.record(seconds);
    }

    /** A later token, {@code seconds} after the sequence's previous one. */
    void nextToken(double seconds) {
        timePerOutputTokenSeconds.observe(seconds);
        genAiTimePerOutputToken.observe(seconds);
        otelTimePerOutputToken.record(seconds);
    }

    /** A generation ended normally after {@code seconds}, with its prompt's and its own tokens. */
    void finished(double seconds, int promptTokens, int outputTokens) {
        requestSeconds.observe(seconds);
        requestPromptTokens.observe(promptTokens);
        requestGenerationTokens.observe(outputTokens);
        genAiRequestDuration.observe(seconds);
        genAiTokenUsage.labelValues("input").observe(promptTokens);
        genAiTokenUsage.labelValues("output").observe(outputTokens);
        otelRequestDuration.record(seconds);
        otelTokenUsage.record(promptTokens, INPUT);
        otelTokenUsage.record(outputTokens, OUTPUT);
    }

    private static DoubleHistogram seconds(Meter meter, String name, String description) {
        return meter.histogramBuilder(name).setUnit("s").setDescription(description)
                .setExplicitBucketBoundariesAdvice(java.util.Arrays.stream(LATENCY_BOUNDS).boxed().toList()).build();
    }

    private static Histogram tokens(PrometheusRegistry registry, String name, String help) {
        return Histogram.builder().name(name).help(help).classicOnly().classicUpperBounds(TOKEN_BOUNDS).withoutExemplars()
                .register(registry);
    }

    private static Histogram latency(PrometheusRegistry registry, String name, String help) {
        return Histogram.builder().name(name).help(help).classicOnly().classicUpperBounds(LATENCY_BOUNDS)
                .withoutExemplars().register(registry);
    }

    /** The scheduler's current counts, for tests and logs. */
    public long generatedTokens() {
        return (long) generatedTokens.get();
    }

    public long cancelled() {
        return (long) cancelled.get();
    }

    public long rejected(RejectedException.Reason reason) {
        return (long) rejected.labelValues(reason.name().toLowerCase()).get();
    }
}
