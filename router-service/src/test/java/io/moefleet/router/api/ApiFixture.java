package io.moefleet.router.api;

import io.moefleet.chat.ChatEncoder;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.engine.Engine;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.router.scheduler.Scheduler;
import io.moefleet.router.scheduler.SchedulerLimits;
import io.moefleet.router.scheduler.SchedulerMetrics;
import io.moefleet.router.scheduler.SequenceAdmission;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * A real API server for tests: a generated {@code tiny} checkpoint (BF16, with the Kimi chat template and tokenizer),
 * the single-process engine on 2 threads, the continuous-batching scheduler and the Vert.x server on a free loopback
 * port.
 */
final class ApiFixture implements AutoCloseable {

    static final String MODEL = "tiny-chat";

    final Path checkpoint;
    final Engine engine;
    final ChatEncoder encoder;
    final SchedulerMetrics metrics;
    final Scheduler scheduler;
    final ServedModel served;
    final ApiServer server;
    final int port;

    private ApiFixture(Path checkpoint, SchedulerLimits limits) throws Exception {
        this(checkpoint, limits, ApiKeys.OPEN);
    }

    private ApiFixture(Path checkpoint, SchedulerLimits limits, ApiKeys keys) throws Exception {
        this(checkpoint, limits, keys, UnaryOperator.identity(), UnaryOperator.identity(), SequenceAdmission.NONE);
    }

    /**
     * @param stepped the model the scheduler steps, made from the engine's (a test's wrapper around it)
     * @param steps what the scheduler calls for a step, made from the model's {@code step} (a test's wrapper around it)
     * @param admission how the scheduler admits sequences
     */
    private ApiFixture(Path checkpoint, SchedulerLimits limits, ApiKeys keys, UnaryOperator<Transformer> stepped,
            UnaryOperator<Function<List<StepChunk>, List<float[][]>>> steps, SequenceAdmission admission) throws Exception {
        this.checkpoint = checkpoint;
        this.engine = Engine.open(checkpoint, (done, total) -> { }, 2);
        this.encoder = ChatEncoder.load(checkpoint);
        PrometheusRegistry registry = new PrometheusRegistry();
        this.metrics = new SchedulerMetrics(registry);
        Transformer model = stepped.apply(engine.model());
        this.scheduler = new Scheduler(model, steps.apply(model::step), admission, limits, metrics);
        this.served = new ServedModel(MODEL, model, encoder, scheduler);
        this.server = new ApiServer(served, registry, () -> true, io.opentelemetry.api.OpenTelemetry.noop(), keys);
        this.port = server.start("127.0.0.1", 0).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    /** Writes the checkpoint into {@code directory} (a test's temp dir) and starts the server over it. */
    static ApiFixture start(Path directory) throws Exception {
        return start(directory, SchedulerLimits.DEFAULT);
    }

    static ApiFixture start(Path directory, SchedulerLimits limits) throws Exception {
        writeCheckpoint(directory);
        return new ApiFixture(directory, limits);
    }

    /** As {@link #start(Path)}, asking callers for one of {@code keys}. */
    static ApiFixture withKeys(Path directory, ApiKeys keys) throws Exception {
        writeCheckpoint(directory);
        return new ApiFixture(directory, SchedulerLimits.DEFAULT, keys);
    }

    /** As {@link #withKeys(Path, ApiKeys)}, the scheduler calling {@code steps} (a wrapper around the model's step). */
    static ApiFixture withKeys(Path directory, ApiKeys keys, UnaryOperator<Function<List<StepChunk>, List<float[][]>>> steps)
            throws Exception {
        writeCheckpoint(directory);
        return new ApiFixture(directory, SchedulerLimits.DEFAULT, keys, UnaryOperator.identity(), steps, SequenceAdmission.NONE);
    }

    /**
     * A server over the checkpoint already in {@code directory}, whose scheduler steps {@code stepped} (made from the
     * engine's model) and admits sequences through {@code admission}.
     */
    static ApiFixture over(Path directory, SchedulerLimits limits, UnaryOperator<Transformer> stepped, SequenceAdmission admission)
            throws Exception {
        return new ApiFixture(directory, limits, ApiKeys.OPEN, stepped, UnaryOperator.identity(), admission);
    }

    static void writeCheckpoint(Path directory) throws IOException {
        CheckpointWriter.write(Preset.config("tiny"), 11, WeightFormat.BF16, directory);
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    @Override
    public void close() throws Exception {
        server.stop(Duration.ofMillis(100));
        scheduler.close();
        encoder.close();
        engine.close();
    }

    static SchedulerLimits limits(int maxRunning, int maxWaiting, Duration maxQueueWait) {
        return new SchedulerLimits(maxRunning, maxWaiting, maxQueueWait, Math.max(maxRunning + 1, 256));
    }
}
