package io.moefleet.expert;

import io.moefleet.expert.impl.ExpertServiceImpl;
import io.moefleet.expert.impl.PlacementFolderWatch;
import io.moefleet.expert.impl.ShardExperts;
import io.moefleet.proto.expert.ExpertServiceGrpc;
import io.moefleet.rpc.ServerTransport;
import io.moefleet.rpc.ServiceHost;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;

/**
 * One expert shard's gRPC server: the ExpertService, health checking (NOT_SERVING while the shard's experts load,
 * SERVING once they are mapped) and server reflection. Every Forward call gets a server span that continues the
 * caller's W3C trace context. A shard started with a placement file changes the experts it holds while it serves, as the
 * file and the {@link Rollout} beside it change.
 */
public final class ExpertServer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ExpertServer.class.getName());
    private final ShardSettings settings;
    private final OpenTelemetry openTelemetry;
    private final ServiceHost host;
    private volatile ShardExperts experts;
    private volatile PlacementFolderWatch watch;   // only for a placement file

    public ExpertServer(ShardSettings settings, OpenTelemetry openTelemetry) {
        this(settings, openTelemetry, ServerTransport.PLAINTEXT);
    }

    /** A shard taking connections as {@code transport} says (mutual TLS, a plaintext health port). */
    public ExpertServer(ShardSettings settings, OpenTelemetry openTelemetry, ServerTransport transport) {
        this.settings = settings;
        this.openTelemetry = openTelemetry;
        this.host = new ServiceHost("expert shard " + settings.shard(), settings.port(), ExpertServiceGrpc.SERVICE_NAME, this::unmapExperts,
                transport);
    }

    /**
     * Listens, maps this shard's experts, then serves. Returns when the shard serves. A shard given a placement file
     * holds what the file and the rollout beside it give it, and follows them from then on.
     */
    public ExpertServer start() throws IOException {
        host.listen(ExpertServiceImpl.whileLoading(settings.shard()));
        LOG.log(System.Logger.Level.INFO, "expert shard {0} ({1} shard(s) in its placement) listening on port {2}, loading its "
                + "experts from {3}", settings.shard(), settings.placement().shards(), Integer.toString(host.port()), settings.model());
        try {
            experts = ShardExperts.open(settings.model(), settings.shard(), settings.threads());
            settings.placement().checkAgainst(experts.config());
            HeldExperts initial;
            if (settings.placementFile() != null) {
                watch = new PlacementFolderWatch(settings.placementFile(), experts.config(), settings.shard());
                initial = watch.initial(settings.placement());
            } else {
                initial = HeldExperts.of(settings.placement(), Rollout.NONE, settings.shard());
            }
            experts.hold(initial);
        } catch (RuntimeException e) {
            stop();
            throw e;
        }
        host.serve(new ExpertServiceImpl(settings.shard(), experts).bindService(), openTelemetry);
        if (watch != null) {
            watch.start(experts::hold);
        }
        return this;
    }

    /** The port the server listens on (the one chosen when the settings asked for 0). */
    public int port() {
        return host.port();
    }

    /** Stops taking calls, lets calls in flight finish (up to 30 s), then unmaps the experts. Safe to call more than once. */
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

    private void unmapExperts() {
        if (watch != null) {
            watch.close();
        }
        if (experts != null) {
            experts.close();
        }
    }
}
