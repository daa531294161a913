package io.moefleet.expert;

import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.StepChunk;
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

/**
 * A fleet in one JVM over real loopback sockets: one {@link ExpertServer} per shard of a placement, and a model whose
 * routed experts are {@link RemoteExperts} calling them.
 */
final class LocalFleet implements AutoCloseable {

    final List<ExpertServer> servers;
    final RemoteExperts experts;
    final Transformer model;
    private final Checkpoint checkpoint;
    private final Workers workers;

    private LocalFleet(List<ExpertServer> servers, RemoteExperts experts, Transformer model, Checkpoint checkpoint, Workers workers) {
        this.servers = servers;
        this.experts = experts;
        this.model = model;
        this.checkpoint = checkpoint;
        this.workers = workers;
    }

    static LocalFleet start(Path model, ExpertPlacement placement) {
        return start(model, placement, Duration.ofSeconds(10), OpenTelemetry.noop(), OpenTelemetry.noop());
    }

    static LocalFleet start(Path model, ExpertPlacement placement, Duration deadline, OpenTelemetry routerTelemetry,
            OpenTelemetry shardTelemetry) {
        return start(model, placement, deadline, routerTelemetry, shardTelemetry, (shard, address) -> address);
    }

    /** As above, the router reaching shard s at {@code route.apply(s, its address)} (a relay in front of it, say). */
    static LocalFleet start(Path model, ExpertPlacement placement, Duration deadline, OpenTelemetry routerTelemetry,
            OpenTelemetry shardTelemetry, java.util.function.BiFunction<Integer, String, String> route) {
        List<ExpertServer> servers = new ArrayList<>();
        List<String> addresses = new ArrayList<>();
        try {
            for (int s = 0; s < placement.shards(); s++) {
                ExpertServer server = new ExpertServer(new ShardSettings(model, placement, s, 0, 1), shardTelemetry);
                servers.add(server);
                server.start();
                addresses.add(route.apply(s, "127.0.0.1:" + server.port()));
            }
        } catch (IOException e) {
            servers.forEach(ExpertServer::stop);
            throw new UncheckedIOException(e);
        }
        Checkpoint checkpoint = Checkpoint.open(model);
        RemoteExperts experts = new RemoteExperts(checkpoint.config(), placement, addresses, deadline, routerTelemetry);
        Workers workers = new Workers(1);
        Transformer transformer = new Transformer(checkpoint.config(), ModelWeights.load(checkpoint), workers, null, experts);
        return new LocalFleet(servers, experts, transformer, checkpoint, workers);
    }

    /** One prompt pass over {@code tokens}: every position's logits. */
    float[][] logits(int[] tokens) {
        return model.step(List.of(new StepChunk(model.newSequence(), 0, tokens, true))).getFirst();
    }

    @Override
    public void close() {
        experts.close();
        servers.forEach(ExpertServer::stop);
        workers.close();
        checkpoint.close();
    }
}
