package io.moefleet.expert;

import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.util.MutableHandlerRegistry;
import io.moefleet.expert.impl.ExpertServiceImpl;
import io.moefleet.expert.impl.ShardExperts;
import io.moefleet.proto.expert.ExpertServiceGrpc;
import io.moefleet.rpc.FloatRows;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.instrumentation.grpc.v1_6.GrpcTelemetry;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One expert shard's gRPC server: the ExpertService, health checking (NOT_SERVING while the shard's experts load,
 * SERVING once they are mapped) and server reflection. Every Forward call gets a server span that continues the
 * caller's W3C trace context.
 */
public final class ExpertServer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ExpertServer.class.getName());

    /**
     * Threads that decode, encode and wait: a shard computes one batch at a time (its workers parallelise inside it),
     * so a few threads overlap the wire work of the next call with the current product; an unbounded pool would only
     * add threads that queue on the same lock.
     */
    private static final int REQUEST_THREADS = 4;

    private final ShardSettings settings;
    private final OpenTelemetry openTelemetry;
    private final HealthStatusManager health = new HealthStatusManager();
    private final MutableHandlerRegistry expertService = new MutableHandlerRegistry();
    private final ExecutorService executor;
    private final Thread shutdownHook = new Thread(this::stop, "expert-server-shutdown");
    private Server server;
    private ShardExperts experts;
    private boolean stopped;

    public ExpertServer(ShardSettings settings, OpenTelemetry openTelemetry) {
        this.settings = settings;
        this.openTelemetry = openTelemetry;
        AtomicInteger threads = new AtomicInteger();
        this.executor = Executors.newFixedThreadPool(REQUEST_THREADS, task -> Thread.ofPlatform().daemon()
                .name("expert-shard-" + settings.shard() + "-grpc-" + threads.incrementAndGet()).unstarted(task));
    }

    /**
     * Listens (so that a port clash shows at once and health answers NOT_SERVING during the load), maps this shard's
     * experts, then switches the service on and health to SERVING. Returns when the shard serves.
     */
    public synchronized ExpertServer start() throws IOException {
        if (server != null) {
            throw new IllegalStateException("expert shard " + settings.shard() + " was already started");
        }
        setHealth(ServingStatus.NOT_SERVING);
        expertService.addService(ExpertServiceImpl.whileLoading(settings.shard()));
        server = Grpc.newServerBuilderForPort(settings.port(), InsecureServerCredentials.create())
                .executor(executor)
                .maxInboundMessageSize(FloatRows.MAX_MESSAGE_BYTES)
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance())
                .fallbackHandlerRegistry(expertService)
                .build()
                .start();
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        LOG.log(System.Logger.Level.INFO, "expert shard {0} of {1} listening on port {2}, loading its experts from {3}",
                settings.shard(), settings.placement().shards(), Integer.toString(server.getPort()), settings.model());
        try {
            experts = ShardExperts.load(settings.model(), settings.placement(), settings.shard(), settings.threads());
        } catch (RuntimeException e) {
            stop();
            throw e;
        }
        // traced here rather than server-wide: health probes would otherwise fill traces with spans
        expertService.addService(ServerInterceptors.intercept(new ExpertServiceImpl(settings.shard(), experts),
                GrpcTelemetry.create(openTelemetry).createServerInterceptor()));
        setHealth(ServingStatus.SERVING);
        LOG.log(System.Logger.Level.INFO, "expert shard {0} serving", settings.shard());
        return this;
    }

    /** The port the server listens on (the one chosen when the settings asked for 0). */
    public synchronized int port() {
        if (server == null) {
            throw new IllegalStateException("expert shard " + settings.shard() + " is not started");
        }
        return server.getPort();
    }

    /** Stops taking calls, lets calls in flight finish (up to 30 s), then unmaps the experts. Safe to call more than once. */
    public synchronized void stop() {
        if (server == null || stopped) {
            return;
        }
        stopped = true;
        health.enterTerminalState();
        server.shutdown();
        try {
            if (!server.awaitTermination(30, TimeUnit.SECONDS)) {
                server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            executor.shutdown();
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            server.shutdownNow();
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
        if (experts != null) {
            experts.close();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: this is the hook running
        }
    }

    /** Waits until the server has stopped (by {@link #stop} or the shutdown hook). */
    public void blockUntilShutdown() throws InterruptedException {
        Server started;
        synchronized (this) {
            started = server;
        }
        if (started != null) {
            started.awaitTermination();
        }
    }

    @Override
    public void close() {
        stop();
    }

    private void setHealth(ServingStatus status) {
        health.setStatus("", status);
        health.setStatus(ExpertServiceGrpc.SERVICE_NAME, status);
    }
}
