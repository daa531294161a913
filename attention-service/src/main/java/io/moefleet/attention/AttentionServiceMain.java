package io.moefleet.attention;

import io.moefleet.rpc.ServiceMain;
import java.nio.file.Path;
import java.util.Set;

/**
 * One attention instance as its own process: {@code --model DIR --port P [--threads T]}. Logs go to stderr. Tracing is
 * set up from the standard {@code OTEL_*} variables (sampler, propagators, exporters); with none set, W3C context is
 * propagated and no spans are exported.
 */
public final class AttentionServiceMain {

    private static final String USAGE = "usage: attention-service --model DIR --port P [--threads T]";
    private static final Set<String> FLAGS = Set.of("--model", "--port", "--threads");

    private AttentionServiceMain() {}

    public static void main(String[] argv) throws InterruptedException {
        ServiceMain.run("attention-service", USAGE, FLAGS, argv,
                (options, openTelemetry) -> new AttentionServer(settings(options), openTelemetry).start()::blockUntilShutdown);
    }

    private static InstanceSettings settings(ServiceMain.Options options) {
        Path model = Path.of(options.required("--model"));
        int port = options.requiredInt("--port");
        Integer threads = options.optionalInt("--threads");
        return new InstanceSettings(model, port, threads != null ? threads : Runtime.getRuntime().availableProcessors());
    }
}
