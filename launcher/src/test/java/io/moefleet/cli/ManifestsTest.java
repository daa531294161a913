package io.moefleet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.Gson;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1NetworkPolicy;
import io.kubernetes.client.openapi.models.V1NetworkPolicyPeer;
import io.kubernetes.client.openapi.models.V1PodSpec;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.util.ModelMapper;
import io.moefleet.attention.AttentionServiceMain;
import io.moefleet.cli.fleet.FleetProcesses;
import io.moefleet.controller.ControllerMain;
import io.moefleet.controller.MoeFleet;
import io.moefleet.expert.ExpertServiceMain;
import io.moefleet.kvcache.KvCacheConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import io.moefleet.router.api.ApiKeys;
import io.moefleet.rpc.TlsFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The manifests under {@code k8s/}: the base and every overlay render with kustomize, every object parses into the
 * official client's typed models with no unknown field, and the invariants an operator relies on hold. No image can
 * be built here, so every container's command is checked instead: its main class exists and the service's own option
 * parser accepts its arguments, reading the files they name from the Secrets the pod mounts, made here as k8s/README.md
 * makes them (the TLS set of {@code ./fleet certs}, the API keys): a file an argument needs that the pod does not mount
 * fails.
 */
class ManifestsTest {

    /** The Secrets' contents by Secret name and key, as k8s/README.md's commands make them. */
    private static final Map<String, Map<String, String>> SECRETS = new java.util.HashMap<>();

    @TempDir
    static Path mounts;

    @BeforeAll
    static void makeSecrets() throws IOException {
        Path certs = mounts.resolve("certs");
        assertEquals(0, Main.run(new String[] {"certs", "--out", certs.toString()}, new java.io.PrintStream(
                java.io.OutputStream.nullOutputStream()), new java.io.PrintStream(java.io.OutputStream.nullOutputStream())));
        Map<String, String> tls = new java.util.HashMap<>();
        try (var files = Files.list(certs)) {
            for (Path file : files.toList()) {   // kubectl create secret generic moefleet-tls --from-file=DIR
                tls.put(file.getFileName().toString(), Files.readString(file));
            }
        }
        SECRETS.put("moefleet-tls", tls);
        // --from-file=keys=FILE --from-literal=controller=KEY: the controller's key is one of the router's
        SECRETS.put("moefleet-api-keys", Map.of("keys", "sk-controller-sample\nsk-user-sample rpm=60 concurrent=4\n",
                "controller", "sk-controller-sample"));
    }

    private static final Path K8S = Path.of("..", "k8s").toAbsolutePath().normalize();
    /** Sample values of the variables the manifests' arguments take from the pod (downward API). */
    private static final Map<String, String> POD_ENV = Map.of("POD_INDEX", "0", "POD_IP", "10.1.2.3", "POD_NAMESPACE", "moefleet",
            "POD_NAME", "moefleet-controller-0");

    static {
        ModelMapper.addModelMap(MoeFleet.GROUP, MoeFleet.VERSION, MoeFleet.KIND, MoeFleet.PLURAL, true, MoeFleet.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"base", "overlays/local", "overlays/k2-gpu", "overlays/k2-cpu"})
    void rendersIntoTypedObjectsThatKeepTheInvariants(String folder) throws Exception {
        List<KubernetesObject> objects = render(K8S.resolve(folder));
        assertFalse(objects.isEmpty());
        List<String> kinds = objects.stream().map(KubernetesObject::getKind).distinct().sorted().toList();
        for (String kind : List.of("CustomResourceDefinition", "MoeFleet", "StatefulSet", "Deployment", "Service", "ConfigMap",
                "PodDisruptionBudget", "NetworkPolicy", "ServiceAccount", "Role", "RoleBinding")) {
            assertTrue(kinds.contains(kind), folder + " has no " + kind + ": " + kinds);
        }
        int containers = 0;
        for (KubernetesObject object : objects) {
            V1PodSpec pod = podSpec(object);
            if (pod == null) {
                continue;
            }
            for (V1Container container : pod.getContainers()) {
                containers++;
                Map<String, Path> secretMounts = mountSecrets(folder, object.getMetadata().getName(), pod, container);
                String where = folder + " " + object.getMetadata().getName() + "/" + container.getName();
                assertNotNull(container.getReadinessProbe(), where + ": no readiness probe");
                assertNotNull(container.getLivenessProbe(), where + ": no liveness probe");
                var security = container.getSecurityContext();
                assertNotNull(security, where + ": no security context");
                assertEquals(Boolean.TRUE, security.getRunAsNonRoot(), where + ": may run as root");
                assertEquals(Boolean.TRUE, security.getReadOnlyRootFilesystem(), where + ": writable root filesystem");
                assertEquals(Boolean.FALSE, security.getAllowPrivilegeEscalation(), where + ": may escalate privileges");
                assertEquals(List.of("ALL"), security.getCapabilities().getDrop(), where + ": capabilities not dropped");
                assertTrue(container.getImage().matches(".+:[^:/]+") && !container.getImage().endsWith(":latest"),
                        where + ": image without a fixed tag: " + container.getImage());
                assertNotNull(container.getResources().getRequests(), where + ": no requests");
                assertNotNull(container.getResources().getLimits(), where + ": no limits");
                checkCommand(where, container, secretMounts);
            }
        }
        assertTrue(containers >= 5, folder + ": " + containers + " containers");
        checkNetworkPolicies(folder, objects);
        if (folder.endsWith("k2-gpu")) {
            V1StatefulSet experts = (V1StatefulSet) objects.stream()
                    .filter(o -> o instanceof V1StatefulSet && o.getMetadata().getName().endsWith("-expert")).findFirst().orElseThrow();
            V1Container expert = experts.getSpec().getTemplate().getSpec().getContainers().getFirst();
            assertEquals("1", expert.getResources().getRequests().get("nvidia.com/gpu").toSuffixedString(), "GPU request");
            assertEquals("1", expert.getResources().getLimits().get("nvidia.com/gpu").toSuffixedString(), "GPU limit");
            assertFalse(experts.getSpec().getTemplate().getSpec().getTolerations().isEmpty(), "GPU nodes' taint tolerated");
        }
    }

    /**
     * Each Secret volume {@code container} mounts, as a folder here holding only the items the volume projects (what the
     * pod would see), by its mount path.
     */
    private static Map<String, Path> mountSecrets(String folder, String object, V1PodSpec pod, V1Container container)
            throws IOException {
        Map<String, Path> mounted = new java.util.HashMap<>();
        if (container.getVolumeMounts() == null) {
            return mounted;
        }
        for (var mount : container.getVolumeMounts()) {
            var volume = pod.getVolumes().stream().filter(v -> v.getName().equals(mount.getName())).findFirst().orElseThrow();
            if (volume.getSecret() == null) {
                continue;
            }
            String where = folder + " " + object + "/" + container.getName() + " volume " + volume.getName();
            Map<String, String> secret = SECRETS.get(volume.getSecret().getSecretName());
            assertNotNull(secret, where + ": mounts a Secret k8s/README.md does not make: " + volume.getSecret().getSecretName());
            Path here = Files.createDirectories(mounts.resolve(folder.replace('/', '-')).resolve(object).resolve(container.getName())
                    .resolve(volume.getName()));
            List<io.kubernetes.client.openapi.models.V1KeyToPath> items = volume.getSecret().getItems();
            assertNotNull(items, where + ": projects every key of the Secret (only the role's own key belongs in the pod)");
            for (var item : items) {
                assertTrue(secret.containsKey(item.getKey()), where + ": the Secret has no key " + item.getKey());
                Files.writeString(here.resolve(item.getPath()), secret.get(item.getKey()));
            }
            mounted.put(mount.getMountPath(), here);
        }
        return mounted;
    }

    /** {@code arg} with a mounted Secret's path replaced by its folder here. */
    private static String inMounts(String arg, Map<String, Path> secretMounts) {
        for (Map.Entry<String, Path> mount : secretMounts.entrySet()) {
            if (arg.equals(mount.getKey()) || arg.startsWith(mount.getKey() + "/")) {
                return mount.getValue() + arg.substring(mount.getKey().length());
            }
        }
        return arg;
    }

    /**
     * The command names a main class of ours and the service's own parser accepts its arguments; the TLS files and API
     * keys they name are read from the pod's Secrets.
     */
    private static void checkCommand(String where, V1Container container, Map<String, Path> secretMounts) throws Exception {
        List<String> command = container.getCommand();
        int classPath = command.indexOf("-cp");
        assertTrue(command.getFirst().equals("java") && classPath > 0, where + ": `java [options] -cp JAR MAIN`, not " + command);
        assertEquals(List.of("-cp", "/opt/moefleet/moefleet.jar"), command.subList(classPath, classPath + 2), where);
        String main = command.get(classPath + 2);
        // the services on every step's path compile early, as ./fleet starts them; the others run as the JVM defaults
        boolean onStepPath = main.equals(ExpertServiceMain.class.getName()) || main.equals(AttentionServiceMain.class.getName());
        assertEquals(onStepPath ? List.of(FleetProcesses.EARLY_JIT) : List.of(), command.subList(1, classPath), where + ": JVM options");
        Class.forName(main);   // the class exists in the image's jar set (the launcher's class path)
        String[] args = container.getArgs().stream().map(ManifestsTest::expand).map(arg -> inMounts(arg, secretMounts))
                .toArray(String[]::new);
        try {
            switch (main) {
                case "io.moefleet.expert.ExpertServiceMain" -> {
                    var options = ExpertServiceMain.options(args);
                    options.requiredInt("--port");
                    options.requiredInt("--shard");
                    options.required("--placement");
                    TlsFiles.load(Path.of(options.required(TlsFiles.OPTION)), "expert");
                    options.requiredInt("--health-port");
                }
                case "io.moefleet.attention.AttentionServiceMain" -> {
                    var options = AttentionServiceMain.options(args);
                    options.requiredInt("--port");
                    TlsFiles.load(Path.of(options.required(TlsFiles.OPTION)), "attention");
                    options.requiredInt("--health-port");
                }
                case "io.moefleet.kvcache.KvCacheMain" -> assertNotNull(KvCacheConfig.fromArgs(args).kubernetesDns(), where);
                case "io.moefleet.controller.ControllerMain" -> {
                    var options = ControllerMain.Options.parse(args);
                    assertNotNull(options.tlsDir(), where + ": no --tls-dir");
                    TlsFiles.load(options.tlsDir(), "controller");
                    assertEquals("sk-controller-sample", options.routerKey(), where);
                }
                case "io.moefleet.cli.Main" -> {
                    assertEquals("serve", args[0], where);
                    Args parsed = Args.parse("serve", args, 1, new ServeCommand().switches());
                    Path model = Path.of(parsed.required("model"));
                    ServeCommand.settings(parsed, model, parsed.optional("host", "127.0.0.1"), parsed.intValue("port", "0", 1));
                    parsed.intValue("threads", "1", 1);
                    assertTrue(ServeCommand.backend(parsed, model) instanceof ServingStack.Backend.RunningFleet running
                            && running.tlsDir() != null, where + ": a router over the fleet's TLS");
                    assertTrue(ServeCommand.settings(parsed, model, "127.0.0.1", 8000).keys() != ApiKeys.OPEN,
                            where + ": the API asks for keys");
                    RouterTelemetry.open("serve", parsed);
                    parsed.rejectUnknown();
                }
                default -> fail(where + ": unexpected main class " + main);
            }
        } catch (IllegalArgumentException | UsageException e) {
            fail(where + ": " + main + " refuses " + String.join(" ", args) + ": " + e.getMessage());
        }
    }

    private static String expand(String arg) {
        String expanded = arg;
        for (Map.Entry<String, String> variable : POD_ENV.entrySet()) {
            expanded = expanded.replace("$(" + variable.getKey() + ")", variable.getValue());
        }
        assertFalse(expanded.contains("$("), "an argument takes a variable the pods do not set: " + arg);
        return expanded;
    }

    /**
     * Only the router reaches attention and the experts (and the controller the experts' Stats, during a roll-out),
     * only attention (and the pool itself) the KV pool, only the ingress (and the controller, for metrics) the router.
     */
    private static void checkNetworkPolicies(String folder, List<KubernetesObject> objects) {
        Map<String, Set<String>> allowedFrom = objects.stream().filter(o -> o instanceof V1NetworkPolicy).map(o -> (V1NetworkPolicy) o)
                .filter(p -> p.getSpec().getPodSelector().getMatchLabels() != null
                        && p.getSpec().getPodSelector().getMatchLabels().containsKey("app.kubernetes.io/component"))
                .collect(Collectors.toMap(p -> p.getSpec().getPodSelector().getMatchLabels().get("app.kubernetes.io/component"),
                        p -> p.getSpec().getIngress().stream().flatMap(rule -> rule.getFrom().stream()).map(ManifestsTest::peer)
                                .collect(Collectors.toSet()), (a, b) -> a));
        assertEquals(Set.of("router", "controller"), allowedFrom.get("expert"), folder + ": who reaches the experts");
        assertEquals(Set.of("router"), allowedFrom.get("attention"), folder + ": who reaches attention");
        assertEquals(Set.of("attention", "kv-cache"), allowedFrom.get("kv-cache"), folder + ": who reaches the KV pool");
        assertTrue(allowedFrom.get("router").contains("namespace ingress-nginx"), folder + ": the ingress reaches the router");
        assertTrue(Set.of("namespace ingress-nginx", "controller").containsAll(allowedFrom.get("router")),
                folder + ": who reaches the router: " + allowedFrom.get("router"));
        assertTrue(objects.stream().anyMatch(o -> o instanceof V1NetworkPolicy p && p.getSpec().getIngress() == null
                || o instanceof V1NetworkPolicy q && q.getSpec().getIngress().isEmpty()), folder + ": no default deny");
    }

    private static String peer(V1NetworkPolicyPeer peer) {
        if (peer.getNamespaceSelector() != null) {
            return "namespace " + peer.getNamespaceSelector().getMatchLabels().get("kubernetes.io/metadata.name");
        }
        return peer.getPodSelector().getMatchLabels().get("app.kubernetes.io/component");
    }

    private static V1PodSpec podSpec(KubernetesObject object) {
        return switch (object) {
            case V1StatefulSet set -> set.getSpec().getTemplate().getSpec();
            case V1Deployment deployment -> deployment.getSpec().getTemplate().getSpec();
            default -> null;
        };
    }

    /** {@code kubectl kustomize FOLDER}, each document parsed strictly into the client's model for its kind. */
    private static List<KubernetesObject> render(Path folder) throws IOException, InterruptedException {
        Process kubectl;
        try {
            kubectl = new ProcessBuilder("kubectl", "kustomize", folder.toString()).redirectErrorStream(false).start();
        } catch (IOException e) {
            throw new AssertionError("kubectl is needed to render k8s/ (Debian: apt-get install kubernetes-client): " + e.getMessage());
        }
        String yaml = new String(kubectl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String errors = new String(kubectl.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(kubectl.waitFor(60, TimeUnit.SECONDS), "kubectl kustomize did not finish");
        assertEquals(0, kubectl.exitValue(), "kubectl kustomize " + folder + ": " + errors);
        JSON json = new JSON();
        Gson gson = new Gson();
        List<KubernetesObject> objects = new ArrayList<>();
        for (Object document : new Yaml(new LoaderOptions()).loadAll(yaml)) {
            if (document == null) {
                continue;
            }
            Map<?, ?> map = (Map<?, ?>) document;
            String apiVersion = Objects.toString(map.get("apiVersion"));
            String kind = Objects.toString(map.get("kind"));
            Class<?> type = ModelMapper.getApiTypeClass(apiVersion, kind);
            assertNotNull(type, "no model for " + apiVersion + " " + kind);
            // the client's models refuse fields they do not know (a typo in a manifest fails here)
            objects.add((KubernetesObject) json.deserialize(gson.toJson(document), type));
        }
        Files.writeString(Path.of("target", "rendered-" + folder.getFileName() + ".yaml"), yaml);
        return objects;
    }
}
