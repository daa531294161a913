package io.moefleet.controller;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.moefleet.proto.expert.ExpertServiceGrpc;
import io.moefleet.proto.expert.ExpertTokens;
import io.moefleet.proto.expert.StatsRequest;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

/**
 * Asks an expert shard which experts it holds (its Stats): the controller goes on with a roll-out only once a shard
 * holds its part of the next placement.
 */
@FunctionalInterface
public interface ShardProbe {

    /** Whether shard {@code shard} of {@code fleet} holds {@code expert} of {@code layer} for every pair asked; false when unreachable. */
    boolean holdsAll(MoeFleet fleet, int shard, Set<Long> layerExperts);

    /** A (layer, expert) pair as one key. */
    static long key(int layer, int expert) {
        return ((long) layer << 32) | expert;
    }

    /** Over gRPC in plaintext, to the address {@code address(fleet, shard)} ("host:port"). */
    static ShardProbe overGrpc(BiFunction<MoeFleet, Integer, String> address) {
        return overGrpc(address, InsecureChannelCredentials.create());
    }

    /** Over gRPC with {@code credentials} (mutual TLS as the controller, or plaintext), to {@code address(fleet, shard)}. */
    static ShardProbe overGrpc(BiFunction<MoeFleet, Integer, String> address, ChannelCredentials credentials) {
        return (fleet, shard, wanted) -> {
            ManagedChannel channel = Grpc.newChannelBuilder(address.apply(fleet, shard), credentials).build();
            try {
                Set<Long> held = new HashSet<>();
                for (ExpertTokens expert : ExpertServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .stats(StatsRequest.getDefaultInstance()).getExpertsList()) {
                    held.add(key(expert.getLayer(), expert.getExpert()));
                }
                return held.containsAll(wanted);
            } catch (StatusRuntimeException e) {
                return false;
            } finally {
                channel.shutdownNow();
            }
        };
    }

    /** Inside the cluster: the shard's pod by its stable name, connecting with {@code credentials}. */
    static ShardProbe inCluster(int port, ChannelCredentials credentials) {
        return overGrpc((fleet, shard) -> fleet.getMetadata().getName() + "-expert-" + shard + "." + fleet.getMetadata().getName()
                + "-expert." + fleet.getMetadata().getNamespace() + ".svc:" + port, credentials);
    }
}
