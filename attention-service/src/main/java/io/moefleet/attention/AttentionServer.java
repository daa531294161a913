package io.moefleet.attention;

import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.util.MutableHandlerRegistry;
import io.moefleet.attention.impl.AttentionServiceImpl;
import io.moefleet.attention.impl.InstanceAttention;
import io.moefleet.proto.attention.AttentionServiceGrpc;
import io.moefleet.rpc.FloatRows;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.instrumentation.grpc.v1_6.GrpcTelemetry;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One attention instance's gRPC server: the AttentionService, health checking (NOT_SERVING while the attention weights
 * load, SERVING once they are mapped) and server reflection. Every AttentionService call gets a server span that
 * continues the caller's W3C trace context.
 */
public final class AttentionServer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(AttentionServer.class.getName());

    /**
     * Threads that decode, encode and wait: an instance computes one layer at a time (its workers parallelise inside
     * it), so a few threads overlap the wire work of the next call with the current one; more would only queue.
     */
    private static final int REQUEST_THREADS = 4;

    private final InstanceSettings settings;
    private final OpenTelemetry openTelemetry;
    private final HealthStatusManager health = new HealthStatusManager();
    private final MutableHandlerRegistry attentionService = new MutableHandlerRegistry();
    private final ExecutorService executor;
    private final Thread shutdownHook = new Thread(this::stop, "attention-server-shutdown");
    private Server server;
    private InstanceAttention attention;
    private boolean stopped;

    public AttentionServer(InstanceSettings settings, OpenTelemetry openTelemetry) {
        this.settings = settings;
        this.openTelemetry = openTelemetry;
        AtomicInteger threads = new AtomicInteger();
        this.executor = Executors.newFixedThreadPool(REQUEST_THREADS, task -> Thread.ofPlatform().daemon()
                .name("attention-grpc-" + threads.incrementAndGet()).unstarted(task));
    }

    /**
     * Listens (so that a port clash shows at once and health answers NOT_SERVING during the load), maps the attention
     * weights, then switches the service on and health to SERVING. Returns when the instance serves.
     */
    public synchronized AttentionServer start() throws IOException {
        if (server != null) {
            throw new IllegalStateException("the attention instance was already started");
        }
        setHealth(ServingStatus.NOT_SERVING);
        attentionService.addService(AttentionServiceImpl.whileLoading());
        server = Grpc.newServerBuilderForPort(settings.port(), InsecureServerCredentials.create())
                .executor(executor)
                .maxInboundMessageSize(FloatRows.MAX_MESSAGE_BYTES)
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance())
                .fallbackHandlerRegistry(attentionService)
                .build()
                .start();
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        LOG.log(System.Logger.Level.INFO, "attention instance listening on port {0}, loading attention weights from {1}",
                Integer.toString(server.getPort()), settings.model());
        try {
            attention = InstanceAttention.load(settings.model(), settings.threads());
        } catch (RuntimeException e) {
            stop();
            throw e;
        }
        // traced here rather than server-wide: health probes would otherwise fill traces with spans
        attentionService.addService(ServerInterceptors.intercept(new AttentionServiceImpl(attention),
                GrpcTelemetry.create(openTelemetry).createServerInterceptor()));
        setHealth(ServingStatus.SERVING);
        LOG.log(System.Logger.Level.INFO, "attention instance on port {0} serving", Integer.toString(server.getPort()));
        return this;
    }

    /** The port the server listens on (the one chosen when the settings asked for 0). */
    public synchronized int port() {
        if (server == null) {
            throw new IllegalStateException("the attention instance is not started");
        }
        return server.getPort();
    }

    /** Stops taking calls, lets calls in flight finish (up to 30 s), then frees the caches and unmaps the weights. Safe to call more than once. */
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
        if (attention != null) {
            attention.close();
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
        health.setStatus(AttentionServiceGrpc.SERVICE_NAME, status);
    }
}
