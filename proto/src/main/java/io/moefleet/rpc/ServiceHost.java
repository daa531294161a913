package io.moefleet.rpc;

import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.util.MutableHandlerRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.instrumentation.grpc.v1_6.GrpcTelemetry;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC server lifecycle every fleet service shares: listen first with a stand-in that answers UNAVAILABLE and health
 * NOT_SERVING (a port clash shows at once, and callers can watch the load), then {@link #serve} the real service,
 * traced, with health SERVING; server reflection throughout; calls handled on the transport's threads; a graceful stop on
 * {@link #stop} or at JVM exit, after which the owner's resources are freed. Plaintext or mutual TLS, as its
 * {@link ServerTransport} says, with the health service alone on a plaintext port beside when asked for.
 */
public final class ServiceHost {

    private static final System.Logger LOG = System.getLogger(ServiceHost.class.getName());

    private final String name;
    private final int port;
    private final String serviceName;
    private final Runnable afterStop;
    private final ServerTransport transport;
    private final HealthStatusManager health = new HealthStatusManager();
    private final MutableHandlerRegistry service = new MutableHandlerRegistry();
    private final Thread shutdownHook;
    private Server server;
    private Server healthServer;   // only with a health port
    private boolean stopped;

    /**
     * @param name how logs and thread names call this service, e.g. "expert shard 2"
     * @param serviceName the gRPC service whose health is reported besides the server's ("")
     * @param afterStop frees what the service holds once no call runs any more
     */
    public ServiceHost(String name, int port, String serviceName, Runnable afterStop) {
        this(name, port, serviceName, afterStop, ServerTransport.PLAINTEXT);
    }

    /** As above, taking connections as {@code transport} says (mutual TLS, a plaintext health port). */
    public ServiceHost(String name, int port, String serviceName, Runnable afterStop, ServerTransport transport) {
        this.name = name;
        this.port = port;
        this.serviceName = serviceName;
        this.afterStop = afterStop;
        this.transport = transport;
        this.shutdownHook = new Thread(this::stop, name.replace(' ', '-') + "-shutdown");
    }

    /** Starts listening with {@code whileLoading} in the service's place and health NOT_SERVING. */
    public synchronized void listen(ServerServiceDefinition whileLoading) throws IOException {
        if (server != null) {
            throw new IllegalStateException(name + " was already started");
        }
        setHealth(ServingStatus.NOT_SERVING);
        service.addService(whileLoading);
        ServerBuilder<?> builder = transport.tls() == null ? Grpc.newServerBuilderForPort(port, InsecureServerCredentials.create())
                : ServerTls.forPort(port, transport.tls(), name);
        server = builder
                // calls run on the transport thread that read them: a service computes one batch at a time (its
                // workers parallelise inside it, nothing in a handler waits on another gRPC call), and a hand-off to
                // another thread costs a wake-up, which on a machine whose cores all compute waits for a scheduler
                // slice: on 2 cores this took a batch-32 expert call from 3.4 to 1.6 ms above the shard's own time
                .directExecutor()
                .maxInboundMessageSize(FloatRows.MAX_MESSAGE_BYTES)
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance())
                .fallbackHandlerRegistry(service)
                .build()
                .start();
        if (transport.healthPort() != null) {
            try {
                healthServer = Grpc.newServerBuilderForPort(transport.healthPort(), InsecureServerCredentials.create())
                        .directExecutor()
                        .addService(health.getHealthService())
                        .build()
                        .start();
            } catch (IOException e) {
                server.shutdownNow();
                throw new IOException(name + ": cannot listen for health checks on port " + transport.healthPort() + ": "
                        + e.getMessage(), e);
            }
        }
        if (transport.tls() != null) {
            LOG.log(System.Logger.Level.INFO, "{0}: mutual TLS on port {1} ({2}){3}", name, Integer.toString(server.getPort()),
                    transport.tls(), healthServer == null ? "" : "; plaintext health checks only on port " + healthServer.getPort());
        }
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Listens with {@code failed} in the service's place for good: the service reports NOT_SERVING and the server as a
     * whole SERVING, so that a readiness probe on the service fails while a liveness probe on the server passes (a
     * process that cannot load its checkpoint says why, in its stand-in's answers and its log, instead of restarting
     * in a loop).
     */
    public synchronized void listenFailed(ServerServiceDefinition failed) throws IOException {
        listen(failed);
        health.setStatus("", ServingStatus.SERVING);
    }

    /** Replaces the stand-in with the service, every call traced (W3C context continued), and reports SERVING. */
    public synchronized void serve(ServerServiceDefinition definition, OpenTelemetry openTelemetry) {
        // traced here rather than server-wide: health probes would otherwise fill traces with spans
        service.addService(ServerInterceptors.intercept(definition, GrpcTelemetry.create(openTelemetry).createServerInterceptor()));
        setHealth(ServingStatus.SERVING);
        LOG.log(System.Logger.Level.INFO, "{0} serving on port {1}", name, Integer.toString(server.getPort()));
    }

    /** The port the server listens on (the one chosen when 0 was asked for). */
    public synchronized int port() {
        if (server == null) {
            throw new IllegalStateException(name + " is not started");
        }
        return server.getPort();
    }

    /** The port of the plaintext health listener (the one chosen when 0 was asked for). */
    public synchronized int healthPort() {
        if (healthServer == null) {
            throw new IllegalStateException(name + " has no health port");
        }
        return healthServer.getPort();
    }

    /** Stops taking calls, lets calls in flight finish (up to 30 s), then runs {@code afterStop}. Safe to call more than once. */
    public synchronized void stop() {
        if (server == null || stopped) {
            return;
        }
        stopped = true;
        health.enterTerminalState();
        if (healthServer != null) {
            healthServer.shutdownNow();
        }
        server.shutdown();
        try {
            if (!server.awaitTermination(30, TimeUnit.SECONDS)) {
                server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        afterStop.run();
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

    private void setHealth(ServingStatus status) {
        health.setStatus("", status);
        health.setStatus(serviceName, status);
    }
}
