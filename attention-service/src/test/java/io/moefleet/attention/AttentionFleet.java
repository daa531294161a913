package io.moefleet.attention;

import io.moefleet.expert.ExpertPlacement;
import io.moefleet.expert.ExpertServer;
import io.moefleet.expert.RemoteExperts;
import io.moefleet.expert.ShardSettings;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.AttentionBackend;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.ModelWeights;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A fleet in one JVM over real loopback sockets: {@code instances} {@link AttentionServer}s, optionally expert shards,
 * and a model whose attention is {@link RemoteAttention} (and whose routed experts are {@link RemoteExperts}) calling them.
 */
final class AttentionFleet implements AutoCloseable {

    final List<AttentionServer> servers = new ArrayList<>();
    final List<ExpertServer> shards = new ArrayList<>();
    RemoteAttention attention;
    RemoteExperts experts;
    Transformer model;
    private Checkpoint checkpoint;
    private Workers workers;

    private AttentionFleet() {}

    static AttentionFleet start(Path model, int instances) {
        return start(model, instances, 0, OpenTelemetry.noop(), OpenTelemetry.noop(), UnaryOperator.identity());
    }

    /** Instances using the KV pool of {@code kvPool}, new sequences placed by {@code assignment}; experts in the router. */
    static AttentionFleet start(Path model, int instances, KvPoolSettings kvPool, SequenceAssignment assignment) {
        return start(model, instances, 0, OpenTelemetry.noop(), OpenTelemetry.noop(), UnaryOperator.identity(), kvPool, assignment);
    }

    /** {@code expertShards} 0: the routed experts are computed in the router; {@code wrap} may decorate the attention backend. */
    static AttentionFleet start(Path model, int instances, int expertShards, OpenTelemetry routerTelemetry,
            OpenTelemetry instanceTelemetry, UnaryOperator<AttentionBackend> wrap) {
        return start(model, instances, expertShards, routerTelemetry, instanceTelemetry, wrap, null, new RoundRobinAssignment());
    }

    private static AttentionFleet start(Path model, int instances, int expertShards, OpenTelemetry routerTelemetry,
            OpenTelemetry instanceTelemetry, UnaryOperator<AttentionBackend> wrap, KvPoolSettings kvPool,
            SequenceAssignment assignment) {
        AttentionFleet fleet = new AttentionFleet();
        try {
            List<String> addresses = new ArrayList<>();
            for (int i = 0; i < instances; i++) {
                AttentionServer server = new AttentionServer(new InstanceSettings(model, 0, 1, kvPool), instanceTelemetry);
                fleet.servers.add(server);
                server.start();
                addresses.add("127.0.0.1:" + server.port());
            }
            fleet.checkpoint = Checkpoint.open(model);
            fleet.attention = new RemoteAttention(fleet.checkpoint.config(), addresses, assignment,
                    Duration.ofSeconds(10), routerTelemetry);
            if (expertShards > 0) {
                ExpertPlacement placement = ExpertPlacement.spread(fleet.checkpoint.config().nRoutedExperts(), expertShards, 1);
                List<String> shardAddresses = new ArrayList<>();
                for (int s = 0; s < expertShards; s++) {
                    ExpertServer shard = new ExpertServer(new ShardSettings(model, placement, s, 0, 1), OpenTelemetry.noop());
                    fleet.shards.add(shard);
                    shard.start();
                    shardAddresses.add("127.0.0.1:" + shard.port());
                }
                fleet.experts = new RemoteExperts(fleet.checkpoint.config(), placement, shardAddresses, Duration.ofSeconds(10),
                        OpenTelemetry.noop());
            }
            fleet.workers = new Workers(1);
            fleet.model = new Transformer(fleet.checkpoint.config(), ModelWeights.load(fleet.checkpoint), fleet.workers,
                    wrap.apply(fleet.attention), fleet.experts);
            return fleet;
        } catch (IOException e) {
            fleet.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            fleet.close();
            throw e;
        }
    }

    @Override
    public void close() {
        if (attention != null) {
            attention.close();
        }
        if (experts != null) {
            experts.close();
        }
        servers.forEach(AttentionServer::stop);
        shards.forEach(ExpertServer::stop);
        if (workers != null) {
            workers.close();
        }
        if (checkpoint != null) {
            checkpoint.close();
        }
    }
}
