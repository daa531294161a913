package io.moefleet.cli.fleet;

import io.grpc.ChannelCredentials;
import io.moefleet.expert.ExpertPlacement;
import io.moefleet.rpc.TlsFiles;
import java.nio.file.Path;

/**
 * What a fleet run starts: the expert shards of {@code placement}, {@code attentionInstances} attention instances and
 * {@code kvMembers} KV pool members, each shard computing on {@code expertThreads} threads and each attention instance on
 * {@code attentionThreads}; the attention instances publish and restore KV pages of {@code kvPageTokens} tokens. With
 * {@code tlsDir} (null: plaintext) every gRPC connection is mutual TLS with that folder's certificates ({@link TlsFiles}):
 * the shards and instances serve with theirs, the router (and the launcher's health waits) call with the router's.
 */
public record FleetLayout(Path model, ExpertPlacement placement, int attentionInstances, int kvMembers, int expertThreads,
        int attentionThreads, int kvPageTokens, Path tlsDir) {

    /** A plaintext fleet. */
    public FleetLayout(Path model, ExpertPlacement placement, int attentionInstances, int kvMembers, int expertThreads,
            int attentionThreads, int kvPageTokens) {
        this(model, placement, attentionInstances, kvMembers, expertThreads, attentionThreads, kvPageTokens, null);
    }

    /** The roles of a local fleet's gRPC processes, whose certificates {@code tlsDir} must hold. */
    public static final java.util.List<String> TLS_ROLES = java.util.List.of("router", "expert", "attention");

    /** How the router side connects to the fleet's services: mutual TLS as the router, or plaintext. */
    public ChannelCredentials routerCredentials() {
        return TlsFiles.channelCredentials(tlsDir, "router");
    }

    public FleetLayout {
        if (attentionInstances < 1 || kvMembers < 1 || expertThreads < 1 || attentionThreads < 1) {
            throw new IllegalArgumentException("a fleet needs at least one attention instance, one KV member and one thread "
                    + "per service");
        }
        if (kvPageTokens < 1) {
            throw new IllegalArgumentException("a KV page holds at least one token, not " + kvPageTokens);
        }
    }

    /**
     * Threads per shard when not given: the shards of a layer compute at the same time, so they share the machine's
     * cores, at least one each.
     */
    public static int defaultExpertThreads(ExpertPlacement placement) {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / placement.shards());
    }

    /**
     * Threads per attention instance when not given: a step's attention call runs while the router and the shards
     * wait, so the instances share every core (measured on 2 cores, batch 32: fleet/engine 0.59-0.68 with one thread
     * per service, 0.69-0.75 with two).
     */
    public static int defaultAttentionThreads(int attentionInstances) {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / attentionInstances);
    }
}
