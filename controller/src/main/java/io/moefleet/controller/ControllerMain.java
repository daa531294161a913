package io.moefleet.controller;

import com.sun.net.httpserver.HttpServer;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.extended.controller.Controller;
import io.kubernetes.client.extended.controller.LeaderElectingController;
import io.kubernetes.client.extended.controller.builder.ControllerBuilder;
import io.kubernetes.client.extended.controller.reconciler.Request;
import io.kubernetes.client.extended.leaderelection.LeaderElectionConfig;
import io.kubernetes.client.extended.leaderelection.LeaderElector;
import io.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import io.kubernetes.client.informer.SharedIndexInformer;
import io.kubernetes.client.informer.SharedInformerFactory;
import io.kubernetes.client.informer.cache.Lister;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.models.V1OwnerReference;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.util.ClientBuilder;
import io.moefleet.rpc.TlsFiles;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.InetAddress;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The fleet controller as a process (the {@code moefleet-controller} Deployment):
 * {@code --namespace NS [--health-port P] [--router-port P] [--lease NAME] [--tls-dir DIR] [--router-key-file FILE]}. Informers on the namespace's MoeFleets and
 * on the objects they own feed one {@link MoeFleetReconciler}; of the controller's replicas only the holder of the
 * lease reconciles (leader election on a {@code coordination.k8s.io} Lease), the others wait to take over.
 * {@code /healthz} and {@code /readyz} on the health port serve the pod's probes. With {@code --tls-dir} it asks the
 * expert shards for their Stats over mutual TLS with the controller's certificate ({@link TlsFiles}, role
 * {@code controller}); with {@code --router-key-file} it reads the routers' metrics and state with that API key.
 */
public final class ControllerMain {

    static final Duration LEASE_DURATION = Duration.ofSeconds(15);
    static final Duration RENEW_DEADLINE = Duration.ofSeconds(10);
    static final Duration RETRY_PERIOD = Duration.ofSeconds(2);
    private static final String USAGE = "usage: controller --namespace NS [--health-port P] [--router-port P] [--lease NAME] "
            + "[--tls-dir DIR] [--router-key-file FILE]";

    private ControllerMain() {}

    /** The controller's options; a bad command line is an IllegalArgumentException naming the option. */
    public record Options(String namespace, int healthPort, int routerPort, String lease, Path tlsDir, Path routerKeyFile) {

        public static Options parse(String... argv) {
            Map<String, String> values = new HashMap<>(Map.of("--health-port", "8081", "--router-port", "8000",
                    "--lease", "moefleet-controller"));
            for (int i = 0; i < argv.length; i += 2) {
                if (!List.of("--namespace", "--health-port", "--router-port", "--lease", TlsFiles.OPTION, "--router-key-file").contains(argv[i])) {
                    throw new IllegalArgumentException("unknown option '" + argv[i] + "'");
                }
                if (i + 1 >= argv.length) {
                    throw new IllegalArgumentException(argv[i] + " needs a value");
                }
                values.put(argv[i], argv[i + 1]);
            }
            String namespace = values.get("--namespace");
            if (namespace == null || namespace.isBlank()) {
                throw new IllegalArgumentException("--namespace is required");
            }
            String tlsDir = values.get(TlsFiles.OPTION);
            String routerKeyFile = values.get("--router-key-file");
            return new Options(namespace, port(values, "--health-port"), port(values, "--router-port"), values.get("--lease"),
                    tlsDir == null ? null : Path.of(tlsDir), routerKeyFile == null ? null : Path.of(routerKeyFile));
        }

        /** The API key the controller sends to routers (from {@code --router-key-file}), or null when none is given. */
        public String routerKey() {
            return routerKeyFile == null ? null : RouterHttp.readKey(routerKeyFile);
        }

        private static int port(Map<String, String> values, String option) {
            try {
                int port = Integer.parseInt(values.get(option));
                if (port < 1 || port > 65535) {
                    throw new NumberFormatException();
                }
                return port;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + " expects a port number, got '" + values.get(option) + "'");
            }
        }
    }

    public static void main(String[] argv) throws Exception {
        System.setProperty("java.util.logging.SimpleFormatter.format", "controller: %5$s%6$s%n");
        Options options;
        try {
            options = Options.parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("controller: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        ApiClient client = ClientBuilder.standard().setReadTimeout(Duration.ZERO).build();   // watches stay open
        String identity = System.getenv().getOrDefault("POD_NAME", InetAddress.getLocalHost().getHostName());
        SharedInformerFactory informers = new SharedInformerFactory(client);
        Controller controller = controller(options, client, informers);
        LeaderElector elector = new LeaderElector(new LeaderElectionConfig(
                new LeaseLock(options.namespace(), options.lease(), identity, client), LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD));
        HttpServer health = health(options.healthPort());
        informers.startAllRegisteredInformers();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            health.stop(0);
            informers.stopAllRegisteredInformers();
        }, "controller-stop"));
        System.getLogger(ControllerMain.class.getName()).log(System.Logger.Level.INFO, "{0} watching MoeFleets in {1}; leader "
                + "election on Lease {2}", identity, options.namespace(), options.lease());
        new LeaderElectingController(elector, controller).run();
    }

    /** The MoeFleet controller: informers on the namespace's fleets and owned objects, one reconciler over their caches. */
    static Controller controller(Options options, ApiClient client, SharedInformerFactory informers) {
        String routerKey = options.routerKey();
        FleetApi api = new FleetApi(client);
        SharedIndexInformer<MoeFleet> fleets = informers.sharedIndexInformerFor(api.fleets(), MoeFleet.class, 0, options.namespace());
        Map<Class<?>, Lister<? extends KubernetesObject>> owned = new HashMap<>();
        List<SharedIndexInformer<?>> all = new ArrayList<>(List.of(fleets));
        for (Class<?> kind : api.kinds()) {
            SharedIndexInformer<?> informer = informer(informers, api, kind, options.namespace());
            owned.put(kind, new Lister<>(informer.getIndexer()));
            all.add(informer);
        }
        MoeFleetReconciler reconciler = new MoeFleetReconciler(new Lister<>(fleets.getIndexer()), owned, api,
                RouterSignals.inCluster(options.routerPort(), routerKey), RouterState.inCluster(options.routerPort(), routerKey),
                ShardProbe.inCluster(DesiredFleet.EXPERT_PORT,
                        TlsFiles.channelCredentials(options.tlsDir(), "controller")),
                Clock.systemUTC());
        return ControllerBuilder.defaultBuilder(informers)
                .watch(queue -> ControllerBuilder.controllerWatchBuilder(MoeFleet.class, queue)
                        .withResyncPeriod(MoeFleetReconciler.RESYNC).build())
                // a shard set's replicas or readiness changing: reconcile its fleet (the owner)
                .watch(queue -> ControllerBuilder.controllerWatchBuilder(V1StatefulSet.class, queue)
                        .withWorkQueueKeyFunc(ControllerMain::ownerFleet).build())
                .withReconciler(reconciler)
                .withName("moefleet-controller")
                .withWorkerCount(1)
                .withReadyFunc(() -> all.stream().allMatch(SharedIndexInformer::hasSynced))
                .build();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static SharedIndexInformer<?> informer(SharedInformerFactory informers, FleetApi api, Class kind, String namespace) {
        return informers.sharedIndexInformerFor(api.api(kind), kind, 0, namespace);
    }

    /** The request for the MoeFleet owning {@code object}, or null (not queued) when a fleet does not own it. */
    static Request ownerFleet(KubernetesObject object) {
        List<V1OwnerReference> owners = object.getMetadata().getOwnerReferences();
        if (owners == null) {
            return null;
        }
        return owners.stream().filter(o -> MoeFleet.KIND.equals(o.getKind())).findFirst()
                .map(o -> new Request(object.getMetadata().getNamespace(), o.getName())).orElse(null);
    }

    private static HttpServer health(int port) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 8);
        for (String path : List.of("/healthz", "/readyz")) {
            server.createContext(path, exchange -> {
                byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
            });
        }
        server.start();
        return server;
    }
}
