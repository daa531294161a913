package io.moefleet.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kubernetes.client.common.KubernetesListObject;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.extended.controller.reconciler.Request;
import io.kubernetes.client.extended.controller.reconciler.Result;
import io.kubernetes.client.informer.cache.Cache;
import io.kubernetes.client.informer.cache.Lister;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1NetworkPolicy;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1OwnerReference;
import io.kubernetes.client.openapi.models.V1PodDisruptionBudget;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.util.generic.GenericKubernetesApi;
import io.moefleet.expert.ExpertPlacement;
import io.moefleet.expert.Rollout;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The reconciler against state: it reads informer caches filled with the objects the fake API server holds (as the
 * informers would after a watch event) and writes to that server; the tests read back what the server holds.
 */
class MoeFleetReconcilerTest {

    private static final String NAMESPACE = "fleet-a";

    private FakeApiServer server;
    private FleetApi api;
    private final Cache<MoeFleet> fleetCache = new Cache<>();
    private final Map<Class<?>, Cache<KubernetesObject>> caches = new HashMap<>();
    private final AtomicReference<FleetSignals> signals = new AtomicReference<>(FleetSignals.NONE);
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-06T12:00:00Z"));
    /** Tokens per expert per MoE layer, as the router would report them. */
    private final AtomicReference<SortedMap<Integer, long[]>> load = new AtomicReference<>(evenLoad(0));
    /** Whether the shards hold what they are asked to (a shard loading its experts says no). */
    private final AtomicBoolean shardsLoaded = new AtomicBoolean(true);
    private final List<Integer> probedShards = new ArrayList<>();
    /** The attention instances as the router reports them. */
    private final AtomicReference<List<RouterState.Attention>> attention = new AtomicReference<>(List.of());
    private MoeFleetReconciler reconciler;

    @BeforeEach
    void start() throws Exception {
        server = new FakeApiServer();
        api = new FleetApi(server.client);
        Map<Class<?>, Lister<? extends KubernetesObject>> listers = new HashMap<>();
        for (Class<?> kind : api.kinds()) {
            Cache<KubernetesObject> cache = new Cache<>();
            caches.put(kind, cache);
            listers.put(kind, new Lister<>(cache));
        }
        // a router that switches as soon as the configuration names a placement (its own checks are the router's tests')
        RouterState.Source router = fleet -> {
            try {
                V1ConfigMap files = get(V1ConfigMap.class, fleet.getMetadata().getName() + "-fleet");
                return new RouterState(ExpertPlacement.parse(files.getData().get("placement.json")), load.get(), attention.get());
            } catch (Exception e) {
                return null;
            }
        };
        ShardProbe probe = (fleet, shard, experts) -> {
            probedShards.add(shard);
            return shardsLoaded.get() && !experts.isEmpty();
        };
        reconciler = new MoeFleetReconciler(new Lister<>(fleetCache), listers, api, fleet -> signals.get(), router, probe, clock);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void creatingAFleetCreatesEveryObjectOwnedByIt() throws Exception {
        MoeFleet fleet = createFleet("demo", 2, 1, 4);

        Result result = reconcile("demo");

        assertTrue(result.isRequeue(), "a fleet is reconciled again to follow the load");
        List<KubernetesObject> all = listAll();
        List<String> names = all.stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).sorted().toList();
        for (String expected : List.of("StatefulSet/demo-expert", "StatefulSet/demo-attention", "StatefulSet/demo-kv",
                "Deployment/demo-router", "Service/demo-expert", "Service/demo-attention", "Service/demo-kv", "Service/demo-router",
                "ConfigMap/demo-fleet", "PodDisruptionBudget/demo-expert", "NetworkPolicy/demo-expert", "NetworkPolicy/demo-kv")) {
            assertTrue(names.contains(expected), expected + " was not created; the server holds " + names);
        }
        assertEquals(FleetTemplates.forFleet("demo").size(), all.size(), "one object per template: " + names);
        for (KubernetesObject object : all) {
            // deleting the fleet deletes them: the garbage collector follows these references
            List<V1OwnerReference> owners = object.getMetadata().getOwnerReferences();
            assertNotNull(owners, object.getMetadata().getName() + " has no owner");
            assertEquals(1, owners.size());
            assertEquals(fleet.getMetadata().getUid(), owners.getFirst().getUid());
            assertEquals("MoeFleet", owners.getFirst().getKind());
            assertEquals(Boolean.TRUE, owners.getFirst().getController());
            assertEquals("demo", object.getMetadata().getLabels().get("app.kubernetes.io/instance"), object.getMetadata().getName());
        }
        V1StatefulSet experts = get(V1StatefulSet.class, "demo-expert");
        assertEquals(2, experts.getSpec().getReplicas());
        assertEquals("demo-expert", experts.getSpec().getServiceName());
        assertEquals("demo-fleet", experts.getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getConfigMap() != null).findFirst().orElseThrow().getConfigMap().getName());
        V1StatefulSet kv = get(V1StatefulSet.class, "demo-kv");
        assertTrue(String.join(" ", kv.getSpec().getTemplate().getSpec().getContainers().getFirst().getArgs())
                .contains("--kubernetes-dns demo-kv.$(POD_NAMESPACE)"), "KV members discover the fleet's own pool");

        V1ConfigMap config = get(V1ConfigMap.class, "demo-fleet");
        ExpertPlacement placement = ExpertPlacement.parse(config.getData().get("placement.json"));
        assertEquals(2, placement.shards());
        assertEquals(32, placement.routedExperts());
        assertEquals("{\"attention\":[\"demo-attention-0.demo-attention:50061\"],\"experts\":[\"demo-expert-0.demo-expert:50051\","
                + "\"demo-expert-1.demo-expert:50051\"]}", config.getData().get("endpoints.json"));

        MoeFleet written = api.fleets().get(NAMESPACE, "demo").getObject();
        assertEquals(2, written.getStatus().shards);
        assertEquals(1, written.getStatus().attentionInstances);
        assertEquals(config.getData().get("placement.json"), written.getStatus().placement);
        assertTrue(written.getStatus().conditions.stream().anyMatch(c -> c.type.equals("Ready") && c.status.equals("False")),
                "no shard is ready yet");
    }

    @Test
    void aMissingFleetIsLeftToTheGarbageCollector() throws Exception {
        Result result = reconcile("gone");
        assertFalse(result.isRequeue());
        assertTrue(listAll().isEmpty(), "nothing is written for a fleet that does not exist");
    }

    @Test
    void loadChangesReplicasOneStepAtATimeWithinBoundsAndCooldown() throws Exception {
        createFleet("demo", 2, 2, 3);
        reconcile("demo");
        assertEquals(2, shards());

        signals.set(new FleetSignals(100, 32, 300.0, 120.0));   // 100 waiting > 16 per shard x 2 shards
        reconcile("demo");
        assertEquals(3, shards(), "a long queue adds a shard");
        settle("demo");
        MoeFleet fleet = api.fleets().get(NAMESPACE, "demo").getObject();
        assertEquals("expert", fleet.getStatus().lastScaling.component);
        assertEquals(2, fleet.getStatus().lastScaling.from);
        assertEquals(3, fleet.getStatus().lastScaling.to);
        assertTrue(fleet.getStatus().lastScaling.reason.contains("100 requests waiting"), fleet.getStatus().lastScaling.reason);
        assertEquals(3, ExpertPlacement.parse(get(V1ConfigMap.class, "demo-fleet").getData().get("placement.json")).shards(),
                "the placement follows the shard count");
        assertTrue(get(V1ConfigMap.class, "demo-fleet").getData().get("endpoints.json").contains("demo-expert-2.demo-expert:50051"));

        clock.advance(Duration.ofSeconds(30));
        reconcile("demo");
        assertEquals(3, shards(), "within the cooldown nothing changes");

        clock.advance(Duration.ofSeconds(120));
        reconcile("demo");
        assertEquals(3, shards(), "never above maxShards");

        signals.set(new FleetSignals(0, 1, 100.0, 20.0));       // calm
        reconcile("demo");
        assertEquals(3, shards(), "a shard goes only once the router no longer routes to it");
        settle("demo");
        assertEquals(2, shards(), "calm removes a shard once the cooldown has passed");
        assertEquals(2, ExpertPlacement.parse(get(V1ConfigMap.class, "demo-fleet").getData().get("placement.json")).shards());
        clock.advance(Duration.ofSeconds(121));
        reconcile("demo");
        assertEquals(2, shards(), "never below minShards");
    }

    @Test
    void anOperatorsReplicaCountOutsideTheBoundsIsBroughtBack() throws Exception {
        createFleet("demo", 2, 2, 3);
        reconcile("demo");
        api.mergePatch(V1StatefulSet.class, NAMESPACE, "demo-expert", "{\"spec\": {\"replicas\": 9}}");
        reconcile("demo");
        settle("demo");
        assertEquals(3, shards());
        assertTrue(api.fleets().get(NAMESPACE, "demo").getObject().getStatus().lastScaling.reason.contains("within bounds [2, 3]"));
    }

    @Test
    void aNewPlacementRollsOutOneShardAtATimeAndTheRouterSwitchesLast() throws Exception {
        createFleet("demo", 2, 2, 3);
        reconcile("demo");
        String before = get(V1ConfigMap.class, "demo-fleet").getData().get("placement.json");

        shardsLoaded.set(false);   // shards still loading: the roll-out waits at its first shard
        signals.set(new FleetSignals(100, 32, 300.0, 120.0));
        reconcile("demo");
        for (int i = 0; i < 3; i++) {
            reconcile("demo");
            Map<String, String> files = get(V1ConfigMap.class, "demo-fleet").getData();
            assertEquals(before, files.get("placement.json"), "the router keeps the placement while shards load");
            assertEquals(1, Rollout.parse(files.get("rollout.json")).shardsBelow());
        }
        assertEquals(3, shards(), "the added shard runs during the roll-out");
        MoeFleet fleet = api.fleets().get(NAMESPACE, "demo").getObject();
        assertEquals("Loading", fleet.getStatus().rollout.phase);
        assertTrue(fleet.getStatus().conditions.stream().anyMatch(c -> c.type.equals("RollingOut") && c.status.equals("True")));

        shardsLoaded.set(true);
        probedShards.clear();
        List<Integer> shardsBelow = new ArrayList<>();
        for (int i = 0; i < 10 && api.fleets().get(NAMESPACE, "demo").getObject().getStatus().rollout != null; i++) {
            Map<String, String> files = get(V1ConfigMap.class, "demo-fleet").getData();
            Rollout rollout = Rollout.parse(files.get("rollout.json"));
            if (ExpertPlacement.parse(files.get("placement.json")).shards() == 2) {
                shardsBelow.add(rollout.shardsBelow());
                assertEquals(3, rollout.alsoHold().orElseThrow().shards(), "shards load the three-shard target");
            } else {
                assertEquals(2, rollout.alsoHold().orElseThrow().shards(), "after the switch the shards keep the previous experts");
            }
            reconcile("demo");
        }
        assertEquals(List.of(1, 2, 3), shardsBelow.stream().distinct().toList(), "one shard at a time");
        List<String> reasons = new io.kubernetes.client.openapi.apis.CoreV1Api(server.client).listNamespacedEvent(NAMESPACE).execute()
                .getItems().stream().map(e -> e.getReason() + ": " + e.getMessage()).toList();
        assertTrue(reasons.stream().anyMatch(r -> r.startsWith("Scaled: expert: 100 requests waiting")), reasons.toString());
        for (String reason : List.of("RolloutStarted", "RolloutSwitching", "RolloutDone")) {
            assertTrue(reasons.stream().anyMatch(r -> r.startsWith(reason + ": ")), reason + " not among " + reasons);
        }
        assertEquals(List.of(0, 1, 2), probedShards.stream().distinct().toList());
        Map<String, String> files = get(V1ConfigMap.class, "demo-fleet").getData();
        assertEquals(3, ExpertPlacement.parse(files.get("placement.json")).shards());
        assertEquals(Rollout.NONE.toJson(), files.get("rollout.json"), "the extras go once the router has switched");
        assertEquals(3, shards());
    }

    @Test
    void skewedLoadReplansTheExpertsOverTheSameShards() throws Exception {
        createFleet("demo", 2, 2, 2);
        reconcile("demo");
        ExpertPlacement even = ExpertPlacement.parse(get(V1ConfigMap.class, "demo-fleet").getData().get("placement.json"));
        SortedMap<Integer, long[]> fewTokens = evenLoad(0);
        for (long[] layer : fewTokens.values()) {
            for (int e : even.expertsOf(0, 1)) {
                layer[e] = 4;   // as skewed as can be, but 64 tokens a layer say nothing yet
            }
        }
        load.set(fewTokens);
        clock.advance(Duration.ofSeconds(301));
        reconcile("demo");
        assertEquals(null, api.fleets().get(NAMESPACE, "demo").getObject().getStatus().rollout, "re-planned on a handful of tokens");

        SortedMap<Integer, long[]> skewed = evenLoad(10);
        for (long[] layer : skewed.values()) {
            for (int e : even.expertsOf(0, 1)) {
                layer[e] = 1000;   // every hot expert on shard 0
            }
        }
        load.set(skewed);
        clock.advance(Duration.ofSeconds(301));
        settle("demo");
        ExpertPlacement replanned = ExpertPlacement.parse(get(V1ConfigMap.class, "demo-fleet").getData().get("placement.json"));
        assertEquals(2, replanned.shards());
        double worst = io.moefleet.expert.BalancedPlacement.balance(replanned, skewed).values().stream()
                .mapToDouble(io.moefleet.expert.BalancedPlacement.LayerBalance::ratio).max().orElseThrow();
        assertTrue(worst < 1.1, "the re-planned placement's most-loaded shard is within 10% of the ideal, got " + worst);
        MoeFleet fleet = api.fleets().get(NAMESPACE, "demo").getObject();
        assertEquals(replanned.toJson(), ExpertPlacement.parse(fleet.getStatus().placement).toJson());

        clock.advance(Duration.ofSeconds(301));
        reconcile("demo");
        assertEquals(null, api.fleets().get(NAMESPACE, "demo").getObject().getStatus().rollout, "a balanced placement stays");
    }

    @Test
    void anAttentionInstanceNoLongerListedRunsUntilItsSequencesAreDone() throws Exception {
        MoeFleet fleet = createFleet("demo", 2, 2, 2);
        fleet.getSpec().attention.maxInstances = 2;
        api.fleets().update(fleet).throwsApiException();
        reconcile("demo");
        assertEquals(1, attentionReplicas());

        signals.set(new FleetSignals(5, 8, 5000.0, 50.0));   // time to first token over its SLO with requests waiting
        reconcile("demo");
        assertEquals(2, attentionReplicas());
        assertEquals(2, new ObjectMapper().readTree(get(V1ConfigMap.class, "demo-fleet").getData().get("endpoints.json"))
                .path("attention").size());

        clock.advance(Duration.ofSeconds(121));
        signals.set(new FleetSignals(0, 1, 100.0, 20.0));   // calm
        attention.set(List.of(new RouterState.Attention("a0", true, 1), new RouterState.Attention("a1", false, 3)));
        reconcile("demo");
        assertEquals(1, new ObjectMapper().readTree(get(V1ConfigMap.class, "demo-fleet").getData().get("endpoints.json"))
                .path("attention").size(), "new sequences go to the first instance only");
        assertEquals(2, attentionReplicas(), "the second runs while it holds sequences");
        assertEquals(1, api.fleets().get(NAMESPACE, "demo").getObject().getStatus().attentionInstances);

        attention.set(List.of(new RouterState.Attention("a0", true, 1), new RouterState.Attention("a1", false, 0)));
        reconcile("demo");
        assertEquals(1, attentionReplicas(), "drained: it goes");
    }

    private int attentionReplicas() throws Exception {
        return get(V1StatefulSet.class, "demo-attention").getSpec().getReplicas();
    }

    /** Reconciles until no roll-out is in progress (at most 20 times). */
    private void settle(String name) throws Exception {
        for (int i = 0; i < 20; i++) {
            reconcile(name);
            if (api.fleets().get(NAMESPACE, name).getObject().getStatus().rollout == null) {
                return;
            }
        }
        throw new AssertionError("the roll-out did not finish: " + api.fleets().get(NAMESPACE, name).getObject().getStatus().rollout.phase);
    }

    /** {@code tokens} for each of the 32 experts of the demo's MoE layers 1 and 2. */
    private static SortedMap<Integer, long[]> evenLoad(long tokens) {
        SortedMap<Integer, long[]> load = new TreeMap<>();
        for (int layer = 1; layer <= 2; layer++) {
            long[] counts = new long[32];
            java.util.Arrays.fill(counts, tokens);
            load.put(layer, counts);
        }
        return load;
    }

    private int shards() throws Exception {
        return get(V1StatefulSet.class, "demo-expert").getSpec().getReplicas();
    }

    private MoeFleet createFleet(String name, int shards, int minShards, int maxShards) throws Exception {
        MoeFleet fleet = new MoeFleet().metadata(new V1ObjectMeta().name(name).namespace(NAMESPACE));
        MoeFleet.Spec spec = fleet.getSpec();
        spec.image = "ghcr.io/moefleet/moefleet:0.1.0";
        spec.experts.routedExperts = 32;
        spec.experts.expertsPerPod = 16;
        spec.experts.shards = shards;
        spec.experts.minShards = minShards;
        spec.experts.maxShards = maxShards;
        spec.attention.instances = 1;
        spec.slo.ttftMillis = 2000;
        spec.slo.tpotMillis = 200;
        spec.scaling.cooldownSeconds = 120;
        MoeFleet created = api.fleets().create(fleet).throwsApiException().getObject();
        assertNotNull(created.getMetadata().getUid(), "the server gives the fleet a uid");
        return created;
    }

    /** One reconcile after the caches caught up with the server, as informers would have by then. */
    private Result reconcile(String name) throws Exception {
        refreshCaches();
        return reconciler.reconcile(new Request(NAMESPACE, name));
    }

    private void refreshCaches() throws Exception {
        fleetCache.replace(new ArrayList<>(api.fleets().list(NAMESPACE).throwsApiException().getObject().getItems()), "0");
        for (Map.Entry<Class<?>, Cache<KubernetesObject>> entry : caches.entrySet()) {
            entry.getValue().replace(list(entry.getKey()), "0");
        }
    }

    private List<KubernetesObject> listAll() throws Exception {
        List<KubernetesObject> all = new ArrayList<>();
        for (Class<?> kind : api.kinds()) {
            all.addAll(list(kind));
        }
        return all;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private List<KubernetesObject> list(Class<?> kind) throws Exception {
        GenericKubernetesApi generic = api.api((Class) kind);
        KubernetesListObject list = (KubernetesListObject) generic.list(NAMESPACE).throwsApiException().getObject();
        return new ArrayList<>(list.getItems());
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private <T extends KubernetesObject> T get(Class<T> kind, String name) throws Exception {
        GenericKubernetesApi generic = api.api(kind);
        return (T) generic.get(NAMESPACE, name).throwsApiException().getObject();
    }

    /** A clock the test moves. */
    static final class MutableClock extends Clock {
        private Instant now;

        MutableClock(Instant start) {
            now = start;
        }

        void advance(Duration by) {
            now = now.plus(by);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }
}
