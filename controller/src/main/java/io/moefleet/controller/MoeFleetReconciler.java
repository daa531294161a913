package io.moefleet.controller;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.extended.controller.reconciler.Reconciler;
import io.kubernetes.client.extended.controller.reconciler.Request;
import io.kubernetes.client.extended.controller.reconciler.Result;
import io.kubernetes.client.informer.cache.Lister;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.moefleet.expert.BalancedPlacement;
import io.moefleet.expert.ExpertPlacement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Reconciles one {@link MoeFleet} into the objects of its fleet: reads the fleet and what exists from the informers'
 * caches, decides the size ({@link ScalingPolicy} on the router's {@link FleetSignals}), creates what is missing from
 * the templates ({@link DesiredFleet}), patches the replicas and the fleet configuration it owns where they differ,
 * and writes what it did into the fleet's status. A deleted fleet needs nothing: its objects carry owner references,
 * so the garbage collector deletes them. It runs again every {@link #RESYNC} to follow the load.
 */
public final class MoeFleetReconciler implements Reconciler {

    static final Duration RESYNC = Duration.ofSeconds(15);
    /** While a roll-out runs, its next step is looked for sooner. */
    static final Duration ROLLOUT_RECHECK = Duration.ofSeconds(2);
    static final Duration DEFAULT_REPLAN_INTERVAL = Duration.ofSeconds(300);
    static final double DEFAULT_IMBALANCE_THRESHOLD = 1.25;
    /** Tokens per expert, on average, the router must have counted before a placement is planned on them. */
    static final int MIN_TOKENS_PER_EXPERT = 50;
    /** A re-plan must cut the most-loaded shard's excess by this factor at least, or it is not worth a roll-out. */
    private static final double REPLAN_GAIN = 1.05;
    private static final Duration RETRY = Duration.ofSeconds(5);
    private static final System.Logger LOG = System.getLogger(MoeFleetReconciler.class.getName());

    /** Where the router's load signals come from, per fleet. */
    @FunctionalInterface
    public interface SignalSource {
        FleetSignals read(MoeFleet fleet);
    }

    private final Lister<MoeFleet> fleets;
    private final Map<Class<?>, Lister<? extends KubernetesObject>> owned;
    private final FleetApi api;
    private final SignalSource signals;
    private final RouterState.Source routerState;
    private final ShardProbe shards;
    private final Clock clock;

    /**
     * @param owned the cache of each kind of object a fleet has ({@link FleetApi#kinds()}), filled by informers
     */
    public MoeFleetReconciler(Lister<MoeFleet> fleets, Map<Class<?>, Lister<? extends KubernetesObject>> owned, FleetApi api,
            SignalSource signals, RouterState.Source routerState, ShardProbe shards, Clock clock) {
        this.fleets = fleets;
        this.owned = Map.copyOf(owned);
        this.api = api;
        this.signals = signals;
        this.routerState = routerState;
        this.shards = shards;
        this.clock = clock;
    }

    @Override
    public Result reconcile(Request request) {
        MoeFleet fleet = fleets.namespace(request.getNamespace()).get(request.getName());
        if (fleet == null) {
            return new Result(false);   // deleted: its objects go with it (owner references)
        }
        try {
            MoeFleet.Spec spec = fleet.getSpec();
            MoeFleet.Status previous = fleet.getStatus();
            FleetSize current = currentSize(fleet);
            Instant now = clock.instant();
            RouterState router = routerState.read(fleet);
            ScalingPolicy.Decision decision;
            PlacementRollout.Step step;
            String replanned = previous != null ? previous.lastReplan : null;
            if (previous != null && previous.rollout != null) {
                // a roll-out in progress is finished before the fleet is sized again
                decision = new ScalingPolicy.Decision(current, null, null);
                step = PlacementRollout.advance(fleet, previous.rollout, router, shards);
            } else {
                FleetSignals load = signals.read(fleet).withKvUsed(router != null ? router.kvUsed() : null);
                decision = ScalingPolicy.decide(spec, current, load, lastChange(fleet), now);
                String placement = previous != null && previous.placement != null ? previous.placement
                        : placement(fleet, decision.size().shards(), null);
                ExpertPlacement routed = ExpertPlacement.parse(placement);
                String target = null;
                String reason = null;
                if (routed.shards() != decision.size().shards()) {
                    target = placement(fleet, decision.size().shards(), router);
                    reason = decision.size().shards() + " expert shards: " + decision.reason();
                } else if (replanDue(fleet, now) && router != null) {
                    replanned = now.toString();
                    Replan replan = replan(fleet, routed, router);
                    if (replan != null) {
                        target = replan.placement();
                        reason = replan.reason();
                    }
                }
                step = target == null ? PlacementRollout.steady(placement) : PlacementRollout.start(placement, target, reason, now);
            }
            int listed = decision.size().attentionInstances();
            FleetSize size = new FleetSize(step.shardReplicas(), attentionReplicas(fleet, listed, router));
            int created = 0;
            int patched = 0;
            for (KubernetesObject object : DesiredFleet.of(fleet, size, step, listed)) {
                KubernetesObject existing = cached(object);
                if (existing == null) {
                    api.create(object);
                    created++;
                } else if (patchOwnedFields(object, existing)) {
                    patched++;
                }
            }
            if (created > 0 || patched > 0 || decision.changed()) {
                LOG.log(System.Logger.Level.INFO, "{0}/{1}: created {2}, patched {3}{4}{5}", request.getNamespace(), request.getName(),
                        created, patched, decision.changed() ? "; " + decision.component() + " " + decision.reason() : "",
                        step.status() != null ? "; roll-out " + step.status().phase + " (shards below " + step.status().shardsBelow
                                + "): " + step.status().reason : "");
            }
            recordEvents(fleet, previous, decision, step, now);
            MoeFleet.Status status = status(fleet, current, size, step, decision, now);
            status.attentionInstances = listed;
            status.lastReplan = replanned;
            api.updateStatus(fleet.status(status));
            return new Result(true, step.status() != null ? ROLLOUT_RECHECK : RESYNC);
        } catch (ApiException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, request.getNamespace() + "/" + request.getName() + ": reconcile failed, retrying in "
                    + RETRY.toSeconds() + " s: " + e.getMessage());
            return new Result(true, RETRY);
        }
    }

    /** What changed in this pass, as Events on the fleet: a scaling decision, a roll-out's start, its switch, its end. */
    private void recordEvents(MoeFleet fleet, MoeFleet.Status previous, ScalingPolicy.Decision decision, PlacementRollout.Step step,
            Instant now) {
        MoeFleet.RolloutStatus before = previous != null ? previous.rollout : null;
        MoeFleet.RolloutStatus after = step.status();
        List<String[]> events = new ArrayList<>();
        if (decision.changed()) {
            events.add(new String[] {"Scaled", decision.component() + ": " + decision.reason()});
        }
        if (before == null && after != null) {
            events.add(new String[] {"RolloutStarted", after.reason});
        } else if (before != null && after != null && !before.phase.equals(after.phase)) {
            events.add(new String[] {"RolloutSwitching", "every shard holds its part of the new placement; the router switches to it"});
        } else if (before != null && after == null) {
            events.add(new String[] {"RolloutDone", "the router routes by the new placement (" + ExpertPlacement.parse(step.placementJson())
                    .shards() + " shards); extras dropped"});
        }
        for (String[] event : events) {
            try {
                api.event(fleet, event[0], event[1], now);
            } catch (ApiException | RuntimeException e) {
                // an event is a courtesy to the operator: the status says the same, and the reconcile goes on
                LOG.log(System.Logger.Level.WARNING, "event " + event[0] + " on " + fleet.getMetadata().getName() + " not recorded: "
                        + e.getMessage());
            }
        }
    }

    /**
     * Attention instances to run: the {@code listed} ones, and beyond them any the router still has sequences on (an
     * instance no longer listed takes no new sequence; it goes once its own are done). Without word from the router,
     * none is removed.
     */
    private int attentionReplicas(MoeFleet fleet, int listed, RouterState router) {
        int running = replicas(fleet.getMetadata().getNamespace(), fleet.getMetadata().getName() + "-attention", listed);
        if (router == null) {
            return Math.max(listed, running);
        }
        int busy = 0;
        for (int i = 0; i < router.attention().size(); i++) {
            if (router.attention().get(i).sequences() > 0) {
                busy = i + 1;
            }
        }
        return Math.max(listed, Math.min(busy, running));
    }

    /** A new placement balanced on the measured load, and why, or null when the current one is balanced enough. */
    private record Replan(String placement, String reason) {}

    private static boolean replanDue(MoeFleet fleet, Instant now) {
        MoeFleet.Status status = fleet.getStatus();
        if (status == null || status.lastReplan == null) {
            return true;
        }
        int interval = orElse(fleet.getSpec().placement.replanIntervalSeconds, (int) DEFAULT_REPLAN_INTERVAL.toSeconds());
        return !now.isBefore(Instant.parse(status.lastReplan).plusSeconds(interval));
    }

    /**
     * Re-plans when the most-loaded shard of some layer carries more than {@code imbalanceThreshold} times the ideal
     * under the router's measured load, and the balanced plan ({@link BalancedPlacement}) does clearly better.
     */
    private static Replan replan(MoeFleet fleet, ExpertPlacement routed, RouterState router) {
        if (!measured(router, routed.routedExperts())) {
            return null;
        }
        double threshold = fleet.getSpec().placement.imbalanceThreshold != null ? fleet.getSpec().placement.imbalanceThreshold
                : DEFAULT_IMBALANCE_THRESHOLD;
        double now = worstRatio(routed, router.load());
        if (now <= threshold) {
            return null;
        }
        String plan = placement(fleet, routed.shards(), router);
        double planned = worstRatio(ExpertPlacement.parse(plan), router.load());
        if (planned >= now / REPLAN_GAIN) {
            return null;
        }
        return new Replan(plan, String.format("re-plan on measured load: the most-loaded shard carries %.2fx the ideal "
                + "(threshold %.2f), the balanced plan %.2fx", now, threshold, planned));
    }

    /**
     * Whether the router has counted enough tokens to plan on: {@link #MIN_TOKENS_PER_EXPERT} per expert on average in
     * every MoE layer (a handful of tokens, such as the router's start-up check, says nothing about which experts are hot).
     */
    static boolean measured(RouterState router, int routedExperts) {
        return router != null && !router.load().isEmpty() && router.load().values().stream()
                .allMatch(tokens -> java.util.Arrays.stream(tokens).sum() >= (long) MIN_TOKENS_PER_EXPERT * routedExperts);
    }

    private static double worstRatio(ExpertPlacement placement, java.util.SortedMap<Integer, long[]> load) {
        return BalancedPlacement.balance(placement, load).values().stream()
                .mapToDouble(BalancedPlacement.LayerBalance::ratio).max().orElse(1);
    }

    /**
     * The sizes the fleet runs at now: the expert shards' replicas, the attention instances listed for the router;
     * else what the status last said, else the spec's.
     */
    private FleetSize currentSize(MoeFleet fleet) {
        String name = fleet.getMetadata().getName();
        String namespace = fleet.getMetadata().getNamespace();
        MoeFleet.Status status = fleet.getStatus();
        int shards = replicas(namespace, name + "-expert",
                status != null && status.shards != null ? status.shards : orElse(fleet.getSpec().experts.shards, 1));
        // the instances listed for the router (a drained one may still run until its sequences are done)
        int attention = status != null && status.attentionInstances != null ? status.attentionInstances
                : replicas(namespace, name + "-attention", orElse(fleet.getSpec().attention.instances, 1));
        return new FleetSize(Math.max(shards, 1), Math.max(attention, 1));
    }

    private int replicas(String namespace, String statefulSet, int fallback) {
        V1StatefulSet set = (V1StatefulSet) lister(V1StatefulSet.class).namespace(namespace).get(statefulSet);
        return set != null && set.getSpec() != null && set.getSpec().getReplicas() != null ? set.getSpec().getReplicas() : fallback;
    }

    /**
     * A placement for {@code shards} shards over the slots the spec allows (routed experts plus the redundant ones, at
     * most {@code expertsPerPod} on a shard): balanced on the router's measured load when there is one, else even.
     */
    private static String placement(MoeFleet fleet, int shards, RouterState router) {
        MoeFleet.Experts experts = fleet.getSpec().experts;
        int routed = Objects.requireNonNull(experts.routedExperts, "spec.experts.routedExperts is required");
        int perPod = orElse(experts.expertsPerPod, routed);
        int slots = Math.min(perPod, Math.ceilDiv(routed + orElse(experts.redundantExperts, 0), shards));
        if ((long) slots * shards < routed) {
            throw new IllegalArgumentException(shards + " shards of " + perPod + " experts cannot hold the model's " + routed
                    + " routed experts");
        }
        return measured(router, routed) ? BalancedPlacement.plan(routed, shards, slots, router.load()).toJson()
                : BalancedPlacement.uniform(routed, shards, slots).toJson();
    }

    /** Patches the replicas or configuration of {@code existing} to {@code desired}'s; true when it had to. */
    private boolean patchOwnedFields(KubernetesObject desired, KubernetesObject existing) throws ApiException {
        String namespace = existing.getMetadata().getNamespace();
        String name = existing.getMetadata().getName();
        switch (desired) {
            case V1StatefulSet set when !Objects.equals(set.getSpec().getReplicas(), ((V1StatefulSet) existing).getSpec().getReplicas()) -> {
                api.mergePatch(V1StatefulSet.class, namespace, name, "{\"spec\": {\"replicas\": " + set.getSpec().getReplicas() + "}}");
                return true;
            }
            case V1Deployment deployment when !Objects.equals(deployment.getSpec().getReplicas(),
                    ((V1Deployment) existing).getSpec().getReplicas()) -> {
                api.mergePatch(V1Deployment.class, namespace, name,
                        "{\"spec\": {\"replicas\": " + deployment.getSpec().getReplicas() + "}}");
                return true;
            }
            case V1ConfigMap config when name.endsWith(DesiredFleet.FLEET_CONFIG_SUFFIX)
                    && !Objects.equals(config.getData(), ((V1ConfigMap) existing).getData()) -> {
                ObjectNode patch = new ObjectMapper().createObjectNode();
                config.getData().forEach(patch.putObject("data")::put);
                api.mergePatch(V1ConfigMap.class, namespace, name, patch.toString());
                return true;
            }
            default -> {
                return false;
            }
        }
    }

    private KubernetesObject cached(KubernetesObject object) {
        return lister(object.getClass()).namespace(object.getMetadata().getNamespace()).get(object.getMetadata().getName());
    }

    private Lister<? extends KubernetesObject> lister(Class<?> kind) {
        Lister<? extends KubernetesObject> lister = owned.get(kind);
        if (lister == null) {
            throw new IllegalStateException("no informer cache for " + kind.getSimpleName());
        }
        return lister;
    }

    private static Instant lastChange(MoeFleet fleet) {
        MoeFleet.Status status = fleet.getStatus();
        return status != null && status.lastScaling != null && status.lastScaling.time != null
                ? Instant.parse(status.lastScaling.time) : null;
    }

    private MoeFleet.Status status(MoeFleet fleet, FleetSize before, FleetSize size, PlacementRollout.Step step,
            ScalingPolicy.Decision decision, Instant now) {
        String placement = step.placementJson();
        MoeFleet.Status previous = fleet.getStatus() != null ? fleet.getStatus() : new MoeFleet.Status();
        MoeFleet.Status status = new MoeFleet.Status();
        status.observedGeneration = fleet.getMetadata().getGeneration();
        status.shards = ExpertPlacement.parse(placement).shards();
        status.attentionInstances = size.attentionInstances();
        V1StatefulSet experts = (V1StatefulSet) lister(V1StatefulSet.class).namespace(fleet.getMetadata().getNamespace())
                .get(fleet.getMetadata().getName() + "-expert");
        status.readyShards = experts != null && experts.getStatus() != null && experts.getStatus().getReadyReplicas() != null
                ? experts.getStatus().getReadyReplicas() : 0;
        status.placementGeneration = placement.equals(previous.placement) && previous.placementGeneration != null
                ? previous.placementGeneration : orElse(previous.placementGeneration, 0L) + 1;
        status.placement = placement;
        status.rollout = step.status();
        status.lastScaling = previous.lastScaling;
        if (decision.changed()) {
            MoeFleet.LastScaling scaling = new MoeFleet.LastScaling();
            scaling.time = now.toString();
            scaling.component = decision.component();
            boolean expert = decision.component().equals("expert");
            scaling.from = expert ? before.shards() : before.attentionInstances();
            scaling.to = expert ? decision.size().shards() : decision.size().attentionInstances();
            scaling.reason = decision.reason();
            status.lastScaling = scaling;
        }
        boolean ready = status.readyShards >= size.shards();
        status.conditions = new ArrayList<>(List.of(
                condition(previous, "Ready", ready ? "True" : "False", ready ? "AllShardsReady" : "ShardsStarting",
                        status.readyShards + " of " + size.shards() + " expert shards ready", now, status.observedGeneration),
                condition(previous, "RollingOut", step.status() != null ? "True" : "False",
                        step.status() != null ? step.status().phase : "PlacementApplied",
                        step.status() != null ? step.status().reason : "the router routes by the placement in status",
                        now, status.observedGeneration),
                condition(previous, "Scaling", decision.changed() ? "True" : "False",
                        decision.changed() ? "LoadChanged" : "Steady",
                        decision.changed() ? decision.reason() : "within bounds and SLOs", now, status.observedGeneration)));
        return status;
    }

    /** A condition whose transition time moves only when its status does. */
    private static MoeFleet.Condition condition(MoeFleet.Status previous, String type, String value, String reason, String message,
            Instant now, Long generation) {
        MoeFleet.Condition condition = new MoeFleet.Condition();
        condition.type = type;
        condition.status = value;
        condition.reason = reason;
        condition.message = message;
        condition.observedGeneration = generation;
        condition.lastTransitionTime = now.toString();
        if (previous.conditions != null) {
            for (MoeFleet.Condition before : previous.conditions) {
                if (type.equals(before.type) && value.equals(before.status) && before.lastTransitionTime != null) {
                    condition.lastTransitionTime = before.lastTransitionTime;
                }
            }
        }
        return condition;
    }

    private static int orElse(Integer value, int fallback) {
        return value != null ? value : fallback;
    }

    private static long orElse(Long value, long fallback) {
        return value != null ? value : fallback;
    }
}
