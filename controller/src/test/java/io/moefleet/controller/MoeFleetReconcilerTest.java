package io.moefleet.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
        reconciler = new MoeFleetReconciler(new Lister<>(fleetCache), listers, api, fleet -> signals.get(), clock);
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
        assertEquals(2, shards(), "calm removes a shard once the cooldown has passed");
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
        assertEquals(3, shards());
        assertTrue(api.fleets().get(NAMESPACE, "demo").getObject().getStatus().lastScaling.reason.contains("within bounds [2, 3]"));
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
