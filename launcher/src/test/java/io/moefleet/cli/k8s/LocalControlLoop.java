package io.moefleet.cli.k8s;

import io.kubernetes.client.common.KubernetesListObject;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.extended.controller.reconciler.Request;
import io.kubernetes.client.informer.cache.Cache;
import io.kubernetes.client.informer.cache.Lister;
import io.kubernetes.client.util.generic.GenericKubernetesApi;
import io.moefleet.controller.FleetApi;
import io.moefleet.controller.MoeFleet;
import io.moefleet.controller.MoeFleetReconciler;
import io.moefleet.controller.RouterState;
import io.moefleet.controller.ShardProbe;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The controller's loop as ControllerMain runs it, without informers (the fake serves no watches): every 300 ms the
 * caches are refilled from the server, the fleet reconciled, what a deleted fleet owned collected (the garbage
 * collector's part), and the kubelet synced.
 */
public final class LocalControlLoop {
    private final FleetApi api;
    private final String namespace;
    private final String fleet;
    private final Cache<MoeFleet> fleetCache = new Cache<>();
    private final Map<Class<?>, Cache<KubernetesObject>> caches = new HashMap<>();
    private final MoeFleetReconciler reconciler;
    private final OwnerCollector collector;
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean running = true;
    private volatile int passes;
    private Thread thread;

    public LocalControlLoop(FleetApi api, String namespace, String fleet, MoeFleetReconciler.SignalSource signals,
            RouterState.Source routerState, ShardProbe shards) {
        this.api = api;
        this.namespace = namespace;
        this.fleet = fleet;
        Map<Class<?>, Lister<? extends KubernetesObject>> listers = new HashMap<>();
        for (Class<?> kind : api.kinds()) {
            Cache<KubernetesObject> cache = new Cache<>();
            caches.put(kind, cache);
            listers.put(kind, new Lister<>(cache));
        }
        collector = new OwnerCollector(api, namespace);
        reconciler = new MoeFleetReconciler(new Lister<>(fleetCache), listers, api, signals, routerState, shards,
                Clock.systemUTC());
    }

    public void start(ProcessKubelet kubelet) {
        thread = Thread.ofPlatform().name("control-loop").daemon().start(() -> {
            while (running) {
                try {
                    refreshCaches();
                    reconciler.reconcile(new Request(namespace, fleet));
                    collector.collect();
                    kubelet.sync();
                    passes++;
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    return;
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    return;
                }
            }
        });
    }

    public void stop() throws InterruptedException {
        running = false;
        thread.join(TimeUnit.SECONDS.toMillis(30));
    }

    public void throwIfFailed(ProcessKubelet kubelet) {
        Throwable e = failure.get();
        if (e != null) {
            throw new AssertionError("the control loop failed: " + e + "; pods:" + kubelet.describe(20), e);
        }
    }

    /** The router's address once a pass has created its pod. */
    public String awaitRouter(ProcessKubelet kubelet) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (passes == 0 && System.nanoTime() < deadline) {
            throwIfFailed(kubelet);
            Thread.sleep(50);
        }
        throwIfFailed(kubelet);
        return kubelet.routerBaseUrl(fleet + "-router");
    }

    private void refreshCaches() throws Exception {
        fleetCache.replace(new ArrayList<>(api.fleets().list(namespace).throwsApiException().getObject().getItems()), "0");
        for (Map.Entry<Class<?>, Cache<KubernetesObject>> entry : caches.entrySet()) {
            entry.getValue().replace(list(entry.getKey()), "0");
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private List<KubernetesObject> list(Class<?> kind) throws Exception {
        GenericKubernetesApi generic = api.api((Class) kind);
        KubernetesListObject list = (KubernetesListObject) generic.list(namespace).throwsApiException().getObject();
        return new ArrayList<>(list.getItems());
    }

    /** The router's base URL once its {@code /health} answers 200 (within 150 s), the loop's failure thrown if it fails. */
    public String awaitServingRouter(ProcessKubelet kubelet) throws InterruptedException {
        String base = awaitRouter(kubelet);
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        String last = "no answer";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
        while (System.nanoTime() < deadline) {
            throwIfFailed(kubelet);
            try {
                var answer = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/health"))
                        .timeout(java.time.Duration.ofSeconds(5)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
                if (answer.statusCode() == 200) {
                    return base;
                }
                last = answer.statusCode() + " " + answer.body();
            } catch (java.io.IOException notListeningYet) {
                // the router pod has not bound its port yet
            }
            Thread.sleep(300);
        }
        throw new AssertionError("the router's health never turned 200 (last: " + last + "); pods:" + kubelet.describe(30));
    }

    /** The JVM flags the build passes to the tests as {@code -Dproperty}: what the pods' JVMs run with. */
    public static List<String> buildFlags(String property) {
        String flags = System.getProperty(property);
        if (flags == null || flags.isBlank()) {
            throw new AssertionError("-D" + property + " is not set (the build passes it to the tests)");
        }
        return List.of(flags.trim().split("\\s+"));
    }
}
