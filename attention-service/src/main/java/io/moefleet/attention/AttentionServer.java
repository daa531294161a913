package io.moefleet.attention;

import io.moefleet.attention.impl.AttentionServiceImpl;
import io.moefleet.attention.impl.InstanceAttention;
import io.moefleet.proto.attention.AttentionServiceGrpc;
import io.moefleet.rpc.ServerTransport;
import io.moefleet.rpc.ServiceHost;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;

/**
 * One attention instance's gRPC server: the AttentionService over the latent caches of the sequences assigned to it
 * (and, with a KV pool, the pages it publishes and restores), health checking (NOT_SERVING while the attention weights load) and server reflection. Every call gets a server span
 * that continues the caller's W3C trace context.
 */
public final class AttentionServer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(AttentionServer.class.getName());
    private final InstanceSettings settings;
    private final OpenTelemetry openTelemetry;
    private final ServiceHost host;
    private volatile InstanceAttention attention;

    public AttentionServer(InstanceSettings settings, OpenTelemetry openTelemetry) {
        this(settings, openTelemetry, ServerTransport.PLAINTEXT);
    }

    /** An instance taking connections as {@code transport} says (mutual TLS, a plaintext health port). */
    public AttentionServer(InstanceSettings settings, OpenTelemetry openTelemetry, ServerTransport transport) {
        this.settings = settings;
        this.openTelemetry = openTelemetry;
        this.host = new ServiceHost("attention instance", settings.port(), AttentionServiceGrpc.SERVICE_NAME, this::freeAttention,
                transport);
    }

    /** Listens, maps the attention weights, then serves. Returns when the instance serves. */
    public AttentionServer start() throws IOException {
        host.listen(AttentionServiceImpl.whileLoading());
        LOG.log(System.Logger.Level.INFO, "attention instance listening on port {0}, loading attention weights from {1}",
                Integer.toString(host.port()), settings.model());
        try {
            attention = InstanceAttention.load(settings.model(), settings.threads(), settings.kvPool());
        } catch (RuntimeException e) {
            stop();
            throw e;
        }
        host.serve(new AttentionServiceImpl(attention).bindService(), openTelemetry);
        return this;
    }

    /** The port the server listens on (the one chosen when the settings asked for 0). */
    public int port() {
        return host.port();
    }

    /**
     * Stops taking calls, lets calls in flight finish (up to 30 s), publishes the pages still queued (up to 5 s), then
     * frees the caches, leaves the pool and unmaps the weights. Safe to call more than once.
     */
    public void stop() {
        host.stop();
    }

    /** Waits until the server has stopped (by {@link #stop} or the shutdown hook). */
    public void blockUntilShutdown() throws InterruptedException {
        host.blockUntilShutdown();
    }

    @Override
    public void close() {
        stop();
    }

    private void freeAttention() {
        if (attention != null) {
            attention.close();
        }
    }
}
