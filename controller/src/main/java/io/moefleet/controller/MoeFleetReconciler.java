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
    private final Clock clock;

    /**
     * @param owned the cache of each kind of object a fleet has ({@link FleetApi#kinds()}), filled by informers
     */
    public MoeFleetReconciler(Lister<MoeFleet> fleets, Map<Class<?>, Lister<? extends KubernetesObject>> owned, FleetApi api,
            SignalSource signals, Clock clock) {
        this.fleets = fleets;
        this.owned = Map.copyOf(owned);
        this.api = api;
        this.signals = signals;
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
            FleetSize current = currentSize(fleet);
            Instant now = clock.instant();
            ScalingPolicy.Decision decision = ScalingPolicy.decide(spec, current, signals.read(fleet), lastChange(fleet), now);
            FleetSize size = decision.size();
            String placement = placement(fleet, size);
            int created = 0;
            int patched = 0;
            for (KubernetesObject object : DesiredFleet.of(fleet, size, placement)) {
                KubernetesObject existing = cached(object);
                if (existing == null) {
                    api.create(object);
                    created++;
                } else if (patchOwnedFields(object, existing)) {
                    patched++;
                }
            }
            if (created > 0 || patched > 0 || decision.changed()) {
                LOG.log(System.Logger.Level.INFO, "{0}/{1}: created {2}, patched {3}{4}", request.getNamespace(), request.getName(),
                        created, patched, decision.changed() ? "; " + decision.component() + " " + decision.reason() : "");
            }
            api.updateStatus(fleet.status(status(fleet, size, placement, decision, now)));
            return new Result(true, RESYNC);
        } catch (ApiException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, request.getNamespace() + "/" + request.getName() + ": reconcile failed, retrying in "
                    + RETRY.toSeconds() + " s: " + e.getMessage());
            return new Result(true, RETRY);
        }
    }

    /** The sizes the workloads run at now: their replicas, else what the status last said, else the spec's. */
    private FleetSize currentSize(MoeFleet fleet) {
        String name = fleet.getMetadata().getName();
        String namespace = fleet.getMetadata().getNamespace();
        MoeFleet.Status status = fleet.getStatus();
        int shards = replicas(namespace, name + "-expert",
                status != null && status.shards != null ? status.shards : orElse(fleet.getSpec().experts.shards, 1));
        int attention = replicas(namespace, name + "-attention",
                status != null && status.attentionInstances != null ? status.attentionInstances
                        : orElse(fleet.getSpec().attention.instances, 1));
        return new FleetSize(Math.max(shards, 1), Math.max(attention, 1));
    }

    private int replicas(String namespace, String statefulSet, int fallback) {
        V1StatefulSet set = (V1StatefulSet) lister(V1StatefulSet.class).namespace(namespace).get(statefulSet);
        return set != null && set.getSpec() != null && set.getSpec().getReplicas() != null ? set.getSpec().getReplicas() : fallback;
    }

    /**
     * The placement for {@code size.shards()} shards: the one in the status while it has that many shards (a plan made
     * from measured load stays), else an even plan over the slots the spec allows (routed experts plus the redundant
     * ones, at most {@code expertsPerPod} on a shard).
     */
    private static String placement(MoeFleet fleet, FleetSize size) {
        MoeFleet.Status status = fleet.getStatus();
        if (status != null && status.placement != null) {
            ExpertPlacement current = ExpertPlacement.parse(status.placement);
            if (current.shards() == size.shards()) {
                return status.placement;
            }
        }
        MoeFleet.Experts experts = fleet.getSpec().experts;
        int routed = Objects.requireNonNull(experts.routedExperts, "spec.experts.routedExperts is required");
        int perPod = orElse(experts.expertsPerPod, routed);
        int slots = Math.min(perPod, Math.ceilDiv(routed + orElse(experts.redundantExperts, 0), size.shards()));
        if ((long) slots * size.shards() < routed) {
            throw new IllegalArgumentException(size.shards() + " shards of " + perPod + " experts cannot hold the model's " + routed
                    + " routed experts");
        }
        return BalancedPlacement.uniform(routed, size.shards(), slots).toJson();
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

    private MoeFleet.Status status(MoeFleet fleet, FleetSize size, String placement, ScalingPolicy.Decision decision, Instant now) {
        MoeFleet.Status previous = fleet.getStatus() != null ? fleet.getStatus() : new MoeFleet.Status();
        MoeFleet.Status status = new MoeFleet.Status();
        status.observedGeneration = fleet.getMetadata().getGeneration();
        status.shards = size.shards();
        status.attentionInstances = size.attentionInstances();
        V1StatefulSet experts = (V1StatefulSet) lister(V1StatefulSet.class).namespace(fleet.getMetadata().getNamespace())
                .get(fleet.getMetadata().getName() + "-expert");
        status.readyShards = experts != null && experts.getStatus() != null && experts.getStatus().getReadyReplicas() != null
                ? experts.getStatus().getReadyReplicas() : 0;
        status.placementGeneration = placement.equals(previous.placement) && previous.placementGeneration != null
                ? previous.placementGeneration : orElse(previous.placementGeneration, 0L) + 1;
        status.placement = placement;
        status.rollout = previous.rollout;
        status.lastScaling = previous.lastScaling;
        if (decision.changed()) {
            MoeFleet.LastScaling scaling = new MoeFleet.LastScaling();
            scaling.time = now.toString();
            scaling.component = decision.component();
            boolean expert = decision.component().equals("expert");
            FleetSize before = currentSize(fleet);
            scaling.from = expert ? before.shards() : before.attentionInstances();
            scaling.to = expert ? size.shards() : size.attentionInstances();
            scaling.reason = decision.reason();
            status.lastScaling = scaling;
        }
        status.conditions = new ArrayList<>(List.of(
                condition(previous, "Ready", status.readyShards >= size.shards() ? "True" : "False",
                        status.readyShards >= size.shards() ? "AllShardsReady" : "ShardsStarting",
                        status.readyShards + " of " + size.shards() + " expert shards ready", now, status.observedGeneration),
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
