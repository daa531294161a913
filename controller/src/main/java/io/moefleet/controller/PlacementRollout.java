package io.moefleet.controller;

import io.moefleet.expert.ExpertPlacement;
import io.moefleet.expert.Rollout;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;

/**
 * Rolls a new expert placement out while the router keeps serving, one shard at a time, through the fleet's
 * configuration files ({@code placement.json}, {@code endpoints.json}, {@code rollout.json}, see {@link Rollout}):
 * <ol>
 *   <li>{@code Loading}: the router still routes by the current placement; shard 0, then 1, ... also load their part
 *       of the target ({@code rollout.json}: also hold the target, shards below k); the next shard starts once the
 *       previous one holds its part ({@link ShardProbe}). Added shards are already running (the shard count is the
 *       larger of the two placements' during a roll-out);
 *   <li>{@code Switching}: {@code placement.json} and {@code endpoints.json} become the target's and the shards keep
 *       the previous placement's experts as well; the router switches between two layer calls once every shard of the
 *       target holds its part, so no call goes to a shard without its experts;
 *   <li>done, once the router routes by the target: {@code rollout.json} is emptied (the shards drop the extras) and
 *       the shards beyond the target's count are removed.
 * </ol>
 * Every step is a pure function of the status and what the shards and router report, so a controller that restarts
 * (or a new leader) takes the roll-out up where it was.
 */
final class PlacementRollout {

    static final String LOADING = "Loading";
    static final String SWITCHING = "Switching";

    /**
     * The fleet's configuration at one point: the files the router and shards read, the expert shards to run, and
     * the roll-out's status (null: none in progress).
     */
    record Step(String placementJson, int endpointShards, String rolloutJson, int shardReplicas, MoeFleet.RolloutStatus status) {}

    private PlacementRollout() {}

    /** No roll-out: {@code placement} as it is. */
    static Step steady(String placement) {
        int shards = ExpertPlacement.parse(placement).shards();
        return new Step(placement, shards, Rollout.NONE.toJson(), shards, null);
    }

    /** Starts rolling {@code target} out over {@code current}: the first shard loads its part. */
    static Step start(String current, String target, String reason, Instant now) {
        MoeFleet.RolloutStatus status = new MoeFleet.RolloutStatus();
        status.phase = LOADING;
        status.target = target;
        status.previous = current;
        status.shardsBelow = 1;
        status.reason = reason;
        status.started = now.toString();
        return loading(status);
    }

    /**
     * The step after {@code status}, given the router's state (null: unknown) and the shards' answers; the same step
     * while the shards or the router are not there yet.
     */
    static Step advance(MoeFleet fleet, MoeFleet.RolloutStatus status, RouterState router, ShardProbe probe) {
        ExpertPlacement target = ExpertPlacement.parse(status.target);
        if (status.phase.equals(LOADING)) {
            int shard = status.shardsBelow - 1;
            if (router == null || !probe.holdsAll(fleet, shard, part(target, shard, router.load().keySet()))) {
                return loading(status);
            }
            MoeFleet.RolloutStatus next = copy(status);
            if (status.shardsBelow < target.shards()) {
                next.shardsBelow = status.shardsBelow + 1;
                return loading(next);
            }
            next.phase = SWITCHING;
            next.shardsBelow = ExpertPlacement.parse(status.previous).shards();
            return switching(next);
        }
        if (router != null && router.placement().toJson().equals(target.toJson())) {
            return steady(status.target);
        }
        return switching(status);
    }

    /** The experts {@code placement} gives {@code shard} in each of {@code moeLayers}, as {@link ShardProbe} keys. */
    static Set<Long> part(ExpertPlacement placement, int shard, Set<Integer> moeLayers) {
        Set<Long> part = new HashSet<>();
        for (int layer : moeLayers) {
            for (int expert : placement.expertsOf(shard, layer)) {
                part.add(ShardProbe.key(layer, expert));
            }
        }
        return part;
    }

    private static Step loading(MoeFleet.RolloutStatus status) {
        ExpertPlacement current = ExpertPlacement.parse(status.previous);
        ExpertPlacement target = ExpertPlacement.parse(status.target);
        return new Step(status.previous, current.shards(), Rollout.of(target, status.shardsBelow).toJson(),
                Math.max(current.shards(), target.shards()), status);
    }

    private static Step switching(MoeFleet.RolloutStatus status) {
        ExpertPlacement previous = ExpertPlacement.parse(status.previous);
        ExpertPlacement target = ExpertPlacement.parse(status.target);
        return new Step(status.target, target.shards(), Rollout.of(previous, previous.shards()).toJson(),
                Math.max(previous.shards(), target.shards()), status);
    }

    private static MoeFleet.RolloutStatus copy(MoeFleet.RolloutStatus status) {
        MoeFleet.RolloutStatus copy = new MoeFleet.RolloutStatus();
        copy.phase = status.phase;
        copy.target = status.target;
        copy.previous = status.previous;
        copy.shardsBelow = status.shardsBelow;
        copy.reason = status.reason;
        copy.started = status.started;
        return copy;
    }
}
