package io.moefleet.router.scheduler;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/** The scheduler's queues and steps as Prometheus metrics (vLLM-like names under {@code moefleet_}). */
public final class SchedulerMetrics {

    private static final double[] LATENCY_BOUNDS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    final Gauge waiting;
    final Gauge running;
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

    public SchedulerMetrics(PrometheusRegistry registry) {
        waiting = Gauge.builder().name("moefleet_scheduler_waiting")
                .help("Requests waiting for a place in the running batch").register(registry);
        running = Gauge.builder().name("moefleet_scheduler_running")
                .help("Sequences in the running batch (each holds a KV cache)").register(registry);
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
