package io.moefleet.router;

import io.moefleet.attention.AttentionServer;
import io.moefleet.attention.InstanceSettings;
import io.moefleet.expert.ExpertPlacement;
import io.moefleet.expert.ExpertServer;
import io.moefleet.expert.ShardSettings;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.weights.ModelWeights;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A fleet in one JVM over real loopback sockets: expert shards and attention instances sharing the services'
 * OpenTelemetry (apart from the router's, as separate processes' are), and a {@link FleetRouter} over them.
 */
final class InProcessFleet implements AutoCloseable {

    final FleetRouter router;
    final FleetEndpoints endpoints;
    private final List<ExpertServer> shards;
    private final List<AttentionServer> instances;

    private InProcessFleet(FleetRouter router, FleetEndpoints endpoints, List<ExpertServer> shards, List<AttentionServer> instances) {
        this.router = router;
        this.endpoints = endpoints;
        this.shards = shards;
        this.instances = instances;
    }

    static InProcessFleet start(Path model, int expertShards, int attentionInstances, OpenTelemetry routerTelemetry,
            OpenTelemetry serviceTelemetry) {
        ExpertPlacement placement = ExpertPlacement.spread(ModelConfig.read(model.resolve("config.json")).nRoutedExperts(),
                expertShards, 1);
        List<ExpertServer> shards = new ArrayList<>();
        List<AttentionServer> instances = new ArrayList<>();
        try {
            List<String> shardAddresses = new ArrayList<>();
            for (int s = 0; s < expertShards; s++) {
                ExpertServer shard = new ExpertServer(new ShardSettings(model, placement, s, 0, 1), serviceTelemetry);
                shards.add(shard);
                shard.start();
                shardAddresses.add("127.0.0.1:" + shard.port());
            }
            List<String> instanceAddresses = new ArrayList<>();
            for (int i = 0; i < attentionInstances; i++) {
                AttentionServer instance = new AttentionServer(new InstanceSettings(model, 0, 1), serviceTelemetry);
                instances.add(instance);
                instance.start();
                instanceAddresses.add("127.0.0.1:" + instance.port());
            }
            FleetEndpoints endpoints = new FleetEndpoints(instanceAddresses, placement, shardAddresses);
            FleetRouter router = FleetRouter.open(endpoints, model, 1, ModelWeights.LoadProgress.NONE, routerTelemetry);
            return new InProcessFleet(router, endpoints, shards, instances);
        } catch (IOException | RuntimeException e) {
            shards.forEach(ExpertServer::stop);
            instances.forEach(AttentionServer::stop);
            if (e instanceof IOException io) {
                throw new UncheckedIOException(io);
            }
            throw (RuntimeException) e;
        }
    }

    /** Stops attention instance {@code index}: calls to it fail from now on, as to a process that died. */
    void stopInstance(int index) {
        instances.get(index).stop();
    }

    @Override
    public void close() {
        router.close();
        shards.forEach(ExpertServer::stop);
        instances.forEach(AttentionServer::stop);
    }
}
