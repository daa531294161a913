package io.moefleet.attention;

import io.moefleet.kvcache.KvCacheConfig;
import io.moefleet.kvcache.MemoryBudget;
import io.moefleet.proto.attention.AttentionServiceGrpc;
import io.moefleet.rpc.ServiceMain;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * One attention instance as its own process: {@code --model DIR --port P [--threads T]}, and with a KV pool
 * {@code --kv-pool host:port,... [--kv-cluster-name NAME] [--kv-page-tokens N] [--kv-hot-memory SIZE]}. Logs go to
 * stderr. Tracing is set up from the standard {@code OTEL_*} variables (sampler, propagators, exporters); with none
 * set, W3C context is propagated and no spans are exported.
 */
public final class AttentionServiceMain {

    private static final String USAGE = "usage: attention-service --model DIR --port P [--threads T] [--kv-pool host:port,... "
            + "[--kv-cluster-name NAME] [--kv-page-tokens N] [--kv-hot-memory SIZE]] [--tls-dir DIR [--health-port P]] [--on-load-failure exit|report]";
    private static final Set<String> FLAGS = Set.of("--model", "--port", "--threads", "--kv-pool", "--kv-cluster-name",
            "--kv-page-tokens", "--kv-hot-memory");
    private static final List<String> POOL_FLAGS = List.of("--kv-cluster-name", "--kv-page-tokens", "--kv-hot-memory");

    private AttentionServiceMain() {}

    /** This service's command line parsed, without reading the checkpoint: what a manifest's {@code args} must pass. */
    public static ServiceMain.Options options(String... argv) {
        return ServiceMain.parse(argv, FLAGS);
    }

    public static void main(String[] argv) throws InterruptedException {
        ServiceMain.run("attention-service", "attention", USAGE, FLAGS, argv, AttentionServiceGrpc.getServiceDescriptor(),
                (options, openTelemetry, transport) -> new AttentionServer(settings(options), openTelemetry, transport).start()::blockUntilShutdown);
    }

    private static InstanceSettings settings(ServiceMain.Options options) {
        Path model = Path.of(options.required("--model"));
        int port = options.requiredInt("--port");
        Integer threads = options.optionalInt("--threads");
        return new InstanceSettings(model, port, threads != null ? threads : Runtime.getRuntime().availableProcessors(),
                kvPool(options));
    }

    private static KvPoolSettings kvPool(ServiceMain.Options options) {
        String members = options.optional("--kv-pool");
        if (members == null) {
            for (String flag : POOL_FLAGS) {
                if (options.optional(flag) != null) {
                    throw new IllegalArgumentException(flag + " needs --kv-pool");
                }
            }
            return null;
        }
        String clusterName = options.optional("--kv-cluster-name");
        Integer pageTokens = options.optionalInt("--kv-page-tokens");
        String hotMemory = options.optional("--kv-hot-memory");
        return new KvPoolSettings(Arrays.stream(members.split(",")).map(String::trim).filter(m -> !m.isEmpty()).toList(),
                clusterName != null ? clusterName : KvCacheConfig.DEFAULT_CLUSTER_NAME,
                pageTokens != null ? pageTokens : KvPoolSettings.DEFAULT_PAGE_TOKENS,
                hotMemory == null ? KvPoolSettings.DEFAULT_HOT_BYTES : hotMemory.strip().equals("0") ? 0 : MemoryBudget.parse(hotMemory).bytes(),
                KvPoolSettings.DEFAULT_POOL_TIMEOUT);
    }
}
