package io.moefleet.expert;

import io.moefleet.model.ModelConfig;
import io.moefleet.proto.expert.ExpertServiceGrpc;
import io.moefleet.rpc.ServiceMain;
import java.nio.file.Path;
import java.util.Set;

/**
 * One expert shard as its own process:
 * {@code --model DIR --port P --shard I (--expert-shards N | --experts-per-shard K) [--replicas R] | --placement FILE [--threads T]}.
 * Every shard of a fleet gets the same placement flags and serves its own part; with {@code --placement FILE} it follows
 * the file and the {@link Rollout} beside it while it runs ({@link ShardSettings}). Logs go to stderr. Tracing is set up
 * from the standard {@code OTEL_*} variables (sampler, propagators, exporters); with none set, W3C context is
 * propagated and no spans are exported.
 */
public final class ExpertServiceMain {

    private static final String USAGE = "usage: expert-service --model DIR --port P --shard I "
            + "(--expert-shards N | --experts-per-shard K) [--replicas R] | --placement FILE [--threads T] [--tls-dir DIR [--health-port P]] [--on-load-failure exit|report]";
    private static final Set<String> FLAGS = Set.of("--model", "--port", "--shard", "--expert-shards", "--experts-per-shard",
            "--replicas", "--placement", "--threads");

    private ExpertServiceMain() {}

    /** This service's command line parsed, without reading the checkpoint: what a manifest's {@code args} must pass. */
    public static ServiceMain.Options options(String... argv) {
        return ServiceMain.parse(argv, FLAGS);
    }

    public static void main(String[] argv) throws InterruptedException {
        ServiceMain.run("expert-service", "expert", USAGE, FLAGS, argv, ExpertServiceGrpc.getServiceDescriptor(),
                (options, openTelemetry, transport) -> new ExpertServer(settings(options), openTelemetry, transport).start()::blockUntilShutdown);
    }

    private static ShardSettings settings(ServiceMain.Options options) {
        Path model = Path.of(options.required("--model"));
        ModelConfig config = ModelConfig.read(model.resolve("config.json"));
        String placementFile = options.optional("--placement");
        Path file = placementFile != null ? Path.of(placementFile) : null;
        PlacementFlags placement = new PlacementFlags(options.optionalInt("--expert-shards"),
                options.optionalInt("--experts-per-shard"), options.optionalInt("--replicas"), file);
        Integer threads = options.optionalInt("--threads");
        return new ShardSettings(model, placement.resolve(config), options.requiredInt("--shard"), options.requiredInt("--port"),
                threads != null ? threads : Runtime.getRuntime().availableProcessors(), file);
    }
}
