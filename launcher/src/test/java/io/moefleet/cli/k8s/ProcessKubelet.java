package io.moefleet.cli.k8s;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.kubernetes.client.common.KubernetesListObject;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.custom.IntOrString;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1ConfigMapVolumeSource;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1SecretList;
import io.kubernetes.client.openapi.models.V1SecretVolumeSource;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1ContainerPort;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1EnvVar;
import io.kubernetes.client.openapi.models.V1KeyToPath;
import io.kubernetes.client.openapi.models.V1PodTemplateSpec;
import io.kubernetes.client.openapi.models.V1Probe;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.openapi.models.V1Volume;
import io.kubernetes.client.openapi.models.V1VolumeMount;
import io.kubernetes.client.util.generic.GenericKubernetesApi;
import io.moefleet.controller.FleetApi;
import io.moefleet.rpc.ListenPorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A kubelet, a scheduler and a cluster DNS for one namespace of a (fake) API server, over local processes: it turns the
 * StatefulSets and Deployments that the controller writes into running JVMs on this machine, and writes back what a
 * cluster would, their ready replicas. Each {@link #sync()} (a test calls it in a loop):
 *
 * <ol>
 *   <li>makes the pods match the workloads: {@code <name>-<ordinal>} for ordinals {@code [0, replicas)} (StatefulSets;
 *       Deployments' pods are named the same way), starting the missing ones, stopping those beyond the replicas
 *       (SIGTERM, the pod's grace period up to 30 s, then kill), restarting any that exited (restartPolicy Always, with
 *       a short back-off), each pod's output appended to {@code <work>/logs/<pod>.log};
 *   <li>runs a pod's first container as {@code java -cp <this JVM's class path> MAIN args}: the image's
 *       {@code java -cp /opt/moefleet/moefleet.jar MAIN} with the build's JVM flags (and Hazelcast's for the KV members
 *       and their clients), a bounded heap, {@code $(VAR)} expanded from the container's env (fieldRefs: the pod
 *       index, name, namespace; the pod IP is 127.0.0.1), each container port on a free loopback port of its own
 *       ({@code --port} and {@code --health-port} rewritten to it), {@code --host 0.0.0.0} on loopback, and {@code --kubernetes-dns SERVICE}
 *       (Hazelcast's DNS discovery) as {@code --members} with the members' loopback addresses;
 *   <li>mounts by rewriting paths: a claim is the models folder, a ConfigMap or a Secret a per-pod folder under the work
 *       folder holding its keys (or the items it projects) as files (rewritten, atomically, when the data changes), an
 *       emptyDir a per-pod folder;
 *   <li>resolves cluster names ({@link LoopbackDns}) in arguments and in projected ConfigMap files;
 *   <li>runs each container's readiness probe (gRPC health, HTTP GET, TCP connect) and writes the workloads'
 *       {@code status.replicas} and {@code status.readyReplicas}.
 * </ol>
 * What it leaves out: rolling a pod when its workload's template changes (the controller changes replicas and
 * ConfigMaps, not templates), startup and liveness probes, resource limits beyond the heap bound.
 */
public final class ProcessKubelet implements AutoCloseable {

    /** On every process it starts, naming its work folder: how a test finds the processes left behind. */
    public static final String MARKER_PROPERTY = "moefleet.kubelet";

    private static final String IMAGE_JAR = "/opt/moefleet/moefleet.jar";
    private static final Set<String> HAZELCAST_MAINS = Set.of("io.moefleet.kvcache.KvCacheMain",
            "io.moefleet.attention.AttentionServiceMain");
    private static final String KV_MAIN = "io.moefleet.kvcache.KvCacheMain";
    private static final String HEAP = "-Xmx512m";
    private static final String KV_HEAP = "-Xmx256m";
    private static final Duration MAX_GRACE = Duration.ofSeconds(30);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);
    private static final Pattern VARIABLE = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");
    private static final Pattern LABEL_FIELD = Pattern.compile("metadata\\.labels\\['([^']+)'\\]");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FleetApi api;
    private final GenericKubernetesApi<V1Secret, V1SecretList> secrets;
    private final String namespace;
    private final Path modelsRoot;
    private final Path work;
    private final List<String> jvmFlags;
    private final List<String> hazelcastFlags;
    private final Map<String, PodProcess> pods = new TreeMap<>();
    private final Map<String, CompletableFuture<Void>> stopping = new LinkedHashMap<>();
    private final Map<String, String> projected = new LinkedHashMap<>();
    private final Map<String, String> writtenStatus = new LinkedHashMap<>();
    private final Set<String> pendingNotices = new HashSet<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(PROBE_TIMEOUT).build();
    private boolean closed;

    /**
     * @param modelsRoot     the folder standing for the models claim's root ({@code /models/model} is {@code <root>/model})
     * @param work           where pods' logs, projected ConfigMaps and emptyDirs go
     * @param jvmFlags       every process's JVM flags (the build's {@code fleet.jvm.flags})
     * @param hazelcastFlags added for the KV members and the attention instances, Hazelcast's members and clients
     */
    public ProcessKubelet(ApiClient client, String namespace, Path modelsRoot, Path work, List<String> jvmFlags,
            List<String> hazelcastFlags) throws IOException {
        this.api = new FleetApi(client);
        this.secrets = new GenericKubernetesApi<>(V1Secret.class, V1SecretList.class, "", "v1", "secrets", client);
        this.namespace = namespace;
        this.modelsRoot = modelsRoot.toAbsolutePath();
        this.work = Files.createDirectories(work).toAbsolutePath();
        this.jvmFlags = List.copyOf(jvmFlags);
        this.hazelcastFlags = List.copyOf(hazelcastFlags);
    }

    /** One pass: pods to the workloads' replicas, ConfigMaps projected, exits restarted, probes run, status written. */
    public synchronized void sync() throws ApiException, IOException {
        if (closed) {
            throw new IllegalStateException("the kubelet is closed");
        }
        Instant now = Instant.now();
        List<V1StatefulSet> statefulSets = list(V1StatefulSet.class);
        List<V1Deployment> deployments = list(V1Deployment.class);
        List<V1Service> services = list(V1Service.class);
        Map<String, V1ConfigMap> configMaps = new LinkedHashMap<>();
        for (V1ConfigMap config : list(V1ConfigMap.class)) {
            configMaps.put(config.getMetadata().getName(), config);
        }
        Map<String, V1Secret> secretsByName = new LinkedHashMap<>();
        for (V1Secret secret : secrets.list(namespace).throwsApiException().getObject().getItems()) {
            secretsByName.put(secret.getMetadata().getName(), secret);
        }

        // 1. the pods the workloads ask for; those no longer asked for are stopped
        Map<String, Desired> desired = new LinkedHashMap<>();
        for (V1StatefulSet set : statefulSets) {
            int replicas = Objects.requireNonNullElse(set.getSpec().getReplicas(), 1);
            for (int i = 0; i < replicas; i++) {
                Desired pod = new Desired(PodProcess.Kind.STATEFUL_SET, set.getMetadata().getName(), i, set.getSpec().getServiceName(),
                        set.getSpec().getTemplate());
                desired.put(pod.name(), pod);
            }
        }
        for (V1Deployment deployment : deployments) {
            int replicas = Objects.requireNonNullElse(deployment.getSpec().getReplicas(), 1);
            for (int i = 0; i < replicas; i++) {
                Desired pod = new Desired(PodProcess.Kind.DEPLOYMENT, deployment.getMetadata().getName(), i, null,
                        deployment.getSpec().getTemplate());
                desired.put(pod.name(), pod);
            }
        }
        for (PodProcess pod : List.copyOf(pods.values())) {
            if (!desired.containsKey(pod.name())) {
                pods.remove(pod.name());
                stopping.put(pod.name(), stopInBackground(pod));
            }
        }
        stopping.values().removeIf(CompletableFuture::isDone);
        for (Desired pod : desired.values()) {
            if (!pods.containsKey(pod.name())) {
                Map<Integer, Integer> ports = new LinkedHashMap<>();
                for (V1ContainerPort port : PodProcess.ports(pod.template())) {
                    ports.put(port.getContainerPort(), ListenPorts.take());
                }
                pods.put(pod.name(), new PodProcess(pod.kind(), pod.workload(), pod.ordinal(), pod.governingService(), pod.template(),
                        ports, work));
            }
        }

        // 2. names, mounts and processes: every pod's ports are known before any file or argument names them
        LoopbackDns dns = new LoopbackDns(namespace, List.copyOf(pods.values()), services);
        for (PodProcess pod : pods.values()) {
            boolean mounted = project(pod, configMaps, secretsByName, dns);
            pod.noteExit(now);
            if (mounted && !stopping.containsKey(pod.name()) && pod.dueToStart(now)) {
                start(pod, dns, now);
            }
        }

        // 3. readiness, and what the workloads' status says about it
        for (PodProcess pod : pods.values()) {
            pod.ready(pod.running() && probe(pod));
        }
        for (V1StatefulSet set : statefulSets) {
            writeStatus(V1StatefulSet.class, set.getMetadata().getName(), set.getStatus() == null ? null : set.getStatus().getReplicas(),
                    set.getStatus() == null ? null : set.getStatus().getReadyReplicas());
        }
        for (V1Deployment deployment : deployments) {
            writeStatus(V1Deployment.class, deployment.getMetadata().getName(),
                    deployment.getStatus() == null ? null : deployment.getStatus().getReplicas(),
                    deployment.getStatus() == null ? null : deployment.getStatus().getReadyReplicas());
        }
    }

    private record Desired(PodProcess.Kind kind, String workload, int ordinal, String governingService, V1PodTemplateSpec template) {
        String name() {
            return workload + "-" + ordinal;
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private <T extends KubernetesObject> List<T> list(Class<T> kind) throws ApiException {
        GenericKubernetesApi generic = api.api(kind);
        KubernetesListObject list = (KubernetesListObject) generic.list(namespace).throwsApiException().getObject();
        return new ArrayList<>((List<T>) list.getItems());
    }

    // ---- volumes

    /**
     * Writes the pod's ConfigMap (names resolved) and Secret volumes into its folder where their content changed; false
     * while a ConfigMap or Secret it needs does not exist (the pod waits, as in ContainerCreating).
     */
    private boolean project(PodProcess pod, Map<String, V1ConfigMap> configMaps, Map<String, V1Secret> secretsByName,
            LoopbackDns dns) throws IOException {
        List<V1Volume> volumes = pod.template().getSpec().getVolumes();
        if (volumes == null) {
            return true;
        }
        boolean all = true;
        for (V1Volume volume : volumes) {
            V1ConfigMapVolumeSource source = volume.getConfigMap();
            V1SecretVolumeSource secretSource = volume.getSecret();
            Map<String, String> data;
            List<V1KeyToPath> items;
            if (source != null) {
                V1ConfigMap config = configMaps.get(source.getName());
                if (config == null) {
                    if (!Boolean.TRUE.equals(source.getOptional())) {
                        all = false;
                        notice(pod, "waiting for ConfigMap " + source.getName());
                    }
                    continue;
                }
                data = new TreeMap<>();
                if (config.getData() != null) {
                    config.getData().forEach((key, value) -> data.put(key, dns.rewrite(value)));
                }
                items = source.getItems();
            } else if (secretSource != null) {
                V1Secret secret = secretsByName.get(secretSource.getSecretName());
                if (secret == null) {
                    if (!Boolean.TRUE.equals(secretSource.getOptional())) {
                        all = false;
                        notice(pod, "waiting for Secret " + secretSource.getSecretName());
                    }
                    continue;
                }
                data = new TreeMap<>();
                if (secret.getData() != null) {
                    secret.getData().forEach((key, value) -> data.put(key, new String(value, StandardCharsets.UTF_8)));
                }
                items = secretSource.getItems();
            } else {
                continue;
            }
            Path folder = volumeFolder(pod, volume.getName());
            Files.createDirectories(folder);
            Map<String, String> files = new TreeMap<>();
            if (items != null && !items.isEmpty()) {   // client-java's models hold empty lists, not null
                for (V1KeyToPath item : items) {
                    if (data.containsKey(item.getKey())) {
                        files.put(item.getPath(), data.get(item.getKey()));
                    }
                }
            } else {
                files.putAll(data);
            }
            for (Map.Entry<String, String> file : files.entrySet()) {
                Path target = folder.resolve(file.getKey());
                String content = file.getValue();
                if (!content.equals(projected.get(target.toString()))) {
                    Files.createDirectories(target.getParent());
                    // a whole new file or the old one: kubelet swaps a symlink, a move in one folder is as atomic
                    Path temp = target.resolveSibling("." + target.getFileName() + ".tmp");
                    Files.writeString(temp, content, StandardCharsets.UTF_8);
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    projected.put(target.toString(), content);
                }
            }
            try (var present = Files.list(folder)) {
                for (Path file : present.toList()) {
                    String key = folder.relativize(file).toString();
                    if (Files.isRegularFile(file) && !key.startsWith(".") && !files.containsKey(key)) {
                        Files.delete(file);          // a key the ConfigMap or Secret no longer has
                        projected.remove(file.toString());
                    }
                }
            }
        }
        return all;
    }

    private static Path volumeFolder(PodProcess pod, String volume) {
        return pod.folder().resolve("volumes").resolve(volume);
    }

    /** Where a container path is on this machine, through the container's mounts; the path itself when none covers it. */
    private String hostPath(PodProcess pod, V1Container container, String path) throws IOException {
        if (container.getVolumeMounts() == null) {
            return path;
        }
        List<V1VolumeMount> mounts = container.getVolumeMounts().stream()
                .sorted(Comparator.comparingInt((V1VolumeMount m) -> m.getMountPath().length()).reversed()).toList();
        for (V1VolumeMount mount : mounts) {
            String mountPath = mount.getMountPath().replaceAll("/+$", "");
            if (!path.equals(mountPath) && !path.startsWith(mountPath + "/")) {
                continue;
            }
            V1Volume volume = pod.template().getSpec().getVolumes().stream().filter(v -> v.getName().equals(mount.getName()))
                    .findFirst().orElseThrow(() -> new IllegalStateException(pod.name() + " mounts the unknown volume " + mount.getName()));
            Path root;
            if (volume.getPersistentVolumeClaim() != null) {
                root = modelsRoot;
            } else if (volume.getConfigMap() != null || volume.getSecret() != null) {
                root = volumeFolder(pod, volume.getName());
            } else if (volume.getEmptyDir() != null) {
                root = Files.createDirectories(volumeFolder(pod, volume.getName()));
            } else {
                throw new IllegalStateException(pod.name() + ": volume " + volume.getName() + " is of a kind this kubelet cannot mount");
            }
            if (mount.getSubPath() != null && !mount.getSubPath().isEmpty()) {
                root = root.resolve(mount.getSubPath());
            }
            String rest = path.substring(mountPath.length());
            return rest.isEmpty() ? root.toString() : root + rest;
        }
        return path;
    }

    // ---- processes

    private void start(PodProcess pod, LoopbackDns dns, Instant now) throws IOException {
        V1Container container = pod.container();
        Map<String, String> env = environment(pod, container);
        List<String> image = container.getCommand();
        if (image == null || image.isEmpty() || !image.getFirst().equals("java")) {
            throw new IllegalStateException(pod.name() + ": only `java ... MAIN` commands run here, not " + image);
        }
        List<String> jvmOptions = new ArrayList<>();
        String main = null;
        List<String> argv = new ArrayList<>();
        for (int i = 1; i < image.size(); i++) {
            String token = expand(image.get(i), env);
            if (main != null) {
                argv.add(token);
            } else if (token.equals("-cp") || token.equals("-classpath") || token.equals("--class-path")) {
                String classPath = image.get(++i);
                if (!classPath.equals(IMAGE_JAR)) {
                    throw new IllegalStateException(pod.name() + ": the class path " + classPath + " is not the image's " + IMAGE_JAR);
                }
            } else if (token.startsWith("-")) {
                jvmOptions.add(token);
            } else {
                main = token;
            }
        }
        if (main == null) {
            throw new IllegalStateException(pod.name() + ": no main class in " + image);
        }
        if (container.getArgs() != null) {
            for (String arg : container.getArgs()) {
                argv.add(expand(arg, env));
            }
        }

        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmFlags);
        if (HAZELCAST_MAINS.contains(main)) {
            command.addAll(hazelcastFlags);
        }
        command.add(main.equals(KV_MAIN) ? KV_HEAP : HEAP);
        command.add("-D" + MARKER_PROPERTY + "=" + work);
        command.add("-Dmoefleet.kubelet.pod=" + namespace + "/" + pod.name());
        // the launcher (the router's main) starts no services in --fleet-config mode, but knows their flags as ./fleet would
        command.add("-Dfleet.jvm.flags=" + String.join(" ", jvmFlags));
        command.add("-Dhazelcast.jvm.flags=" + String.join(" ", hazelcastFlags));
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main);
        command.addAll(arguments(pod, container, argv, dns));
        pod.start(command, env, now);
    }

    /** The container's arguments on this machine: ports, listen address, discovery, mounted paths and names rewritten. */
    private List<String> arguments(PodProcess pod, V1Container container, List<String> args, LoopbackDns dns) throws IOException {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            String value = i + 1 < args.size() ? args.get(i + 1) : null;
            if (value != null && (arg.equals("--port") || arg.equals("--health-port"))) {
                out.add(arg);
                out.add(Integer.toString(hostPort(pod, value)));
                i++;
            } else if (value != null && arg.equals("--host")) {
                out.add(arg);
                out.add(value.equals("0.0.0.0") || value.equals("::") ? LoopbackDns.LOOPBACK : value);
                i++;
            } else if (value != null && arg.equals("--kubernetes-dns")) {
                List<String> members = dns.members(value);
                if (members == null) {
                    throw new IllegalStateException(pod.name() + ": --kubernetes-dns " + value + " names no Service of " + namespace);
                }
                out.add("--members");
                out.add(String.join(",", members));
                i++;
            } else {
                out.add(dns.rewrite(hostPath(pod, container, arg)));
            }
        }
        return out;
    }

    /** The loopback port for the container port {@code value} names (the pod's only port when it names none of them). */
    private static int hostPort(PodProcess pod, String value) {
        try {
            Integer host = pod.hostPort(Integer.parseInt(value));
            if (host != null) {
                return host;
            }
        } catch (NumberFormatException e) {
            Integer named = pod.containerPort(value);
            if (named != null && pod.hostPort(named) != null) {
                return pod.hostPort(named);
            }
        }
        if (pod.hostPorts().size() == 1) {
            return pod.hostPorts().values().iterator().next();
        }
        throw new IllegalStateException(pod.name() + ": --port " + value + " is none of its container ports " + pod.hostPorts().keySet());
    }

    /** The container's env, fieldRefs resolved as the pod's downward API would. */
    private Map<String, String> environment(PodProcess pod, V1Container container) {
        Map<String, String> env = new LinkedHashMap<>();
        if (container.getEnv() == null) {
            return env;
        }
        for (V1EnvVar variable : container.getEnv()) {
            String value;
            if (variable.getValue() != null) {
                value = expand(variable.getValue(), env);
            } else if (variable.getValueFrom() != null && variable.getValueFrom().getFieldRef() != null) {
                value = field(pod, variable.getValueFrom().getFieldRef().getFieldPath());
            } else {
                throw new IllegalStateException(pod.name() + ": env " + variable.getName() + " takes its value from a source this "
                        + "kubelet does not serve");
            }
            env.put(variable.getName(), value);
        }
        return env;
    }

    private String field(PodProcess pod, String path) {
        Matcher label = LABEL_FIELD.matcher(path);
        if (label.matches()) {
            return pod.labels().getOrDefault(label.group(1), "");
        }
        return switch (path) {
            case "metadata.name" -> pod.name();
            case "metadata.namespace" -> namespace;
            case "status.podIP", "status.hostIP" -> LoopbackDns.LOOPBACK;
            case "spec.nodeName" -> "localhost";
            default -> throw new IllegalStateException(pod.name() + ": fieldRef " + path + " is not served by this kubelet");
        };
    }

    /** {@code $(VAR)} replaced by the variable's value; an unknown variable stays as written (as Kubernetes leaves it). */
    private static String expand(String text, Map<String, String> env) {
        Matcher matcher = VARIABLE.matcher(text);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            String value = env.get(matcher.group(1));
            matcher.appendReplacement(out, Matcher.quoteReplacement(value != null ? value : matcher.group()));
        }
        matcher.appendTail(out);
        return out.toString();
    }

    private CompletableFuture<Void> stopInBackground(PodProcess pod) {
        pod.requestStop();
        Duration grace = grace(pod);
        return CompletableFuture.runAsync(() -> {
            try {
                if (!pod.awaitStop(grace)) {
                    pod.appendToLog("--- kubelet: " + pod.name() + " killed after its grace period of " + grace.toSeconds() + " s");
                } else {
                    pod.appendToLog("--- kubelet: " + pod.name() + " stopped");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, runnable -> Thread.ofVirtual().name("kubelet-stop-" + pod.name()).start(runnable));
    }

    private static Duration grace(PodProcess pod) {
        Long seconds = pod.template().getSpec().getTerminationGracePeriodSeconds();
        Duration grace = seconds == null ? MAX_GRACE : Duration.ofSeconds(seconds);
        return grace.compareTo(MAX_GRACE) < 0 ? grace : MAX_GRACE;
    }

    // ---- readiness and status

    private boolean probe(PodProcess pod) {
        V1Probe probe = pod.container().getReadinessProbe();
        if (probe == null) {
            return true;
        }
        try {
            if (probe.getGrpc() != null) {
                Integer host = pod.hostPort(probe.getGrpc().getPort());
                if (host == null) {
                    return false;
                }
                ManagedChannel channel = pod.grpcChannel(() -> Grpc.newChannelBuilder(LoopbackDns.LOOPBACK + ":" + host,
                        InsecureChannelCredentials.create()).build());
                channel.resetConnectBackoff();       // a probe asks now, whatever the channel's last failure
                String service = probe.getGrpc().getService();
                HealthCheckResponse answer = HealthGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                        .check(HealthCheckRequest.newBuilder().setService(service == null ? "" : service).build());
                return answer.getStatus() == HealthCheckResponse.ServingStatus.SERVING;
            }
            if (probe.getHttpGet() != null) {
                Integer host = hostPort(pod, probe.getHttpGet().getPort());
                if (host == null) {
                    return false;
                }
                String path = probe.getHttpGet().getPath() == null ? "/" : probe.getHttpGet().getPath();
                HttpResponse<Void> answer = http.send(HttpRequest.newBuilder(URI.create("http://" + LoopbackDns.LOOPBACK + ":" + host + path))
                        .timeout(PROBE_TIMEOUT).build(), HttpResponse.BodyHandlers.discarding());
                return answer.statusCode() >= 200 && answer.statusCode() < 400;
            }
            if (probe.getTcpSocket() != null) {
                Integer host = hostPort(pod, probe.getTcpSocket().getPort());
                if (host == null) {
                    return false;
                }
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress(LoopbackDns.LOOPBACK, host), (int) PROBE_TIMEOUT.toMillis());
                    return true;
                }
            }
            throw new IllegalStateException(pod.name() + ": its readiness probe is of a kind this kubelet does not run");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (IOException | io.grpc.StatusRuntimeException e) {
            return false;
        }
    }

    private static Integer hostPort(PodProcess pod, IntOrString port) {
        if (port == null) {
            return null;
        }
        Integer container = port.isInteger() ? port.getIntValue() : pod.containerPort(port.getStrValue());
        return container == null ? null : pod.hostPort(container);
    }

    /**
     * Writes a workload's {@code status.replicas} (its pods whose process runs) and {@code status.readyReplicas} when
     * they differ from what the server holds, then reads them back: a server that kept no status would leave the
     * controller waiting for ever.
     */
    private <T extends KubernetesObject> void writeStatus(Class<T> kind, String workload, Integer replicasNow, Integer readyNow)
            throws ApiException {
        int replicas = 0;
        int ready = 0;
        for (PodProcess pod : pods.values()) {
            if (pod.workload().equals(workload) && pod.kind() == (kind == V1StatefulSet.class ? PodProcess.Kind.STATEFUL_SET
                    : PodProcess.Kind.DEPLOYMENT)) {
                replicas += pod.running() ? 1 : 0;
                ready += pod.ready() ? 1 : 0;
            }
        }
        if (Objects.equals(replicasNow, replicas) && Objects.equals(readyNow, ready)) {
            return;
        }
        ObjectNode patch = JSON.createObjectNode();
        ObjectNode status = patch.putObject("status");
        status.put("replicas", replicas).put("readyReplicas", ready).put("availableReplicas", ready)
                .put("updatedReplicas", replicas);
        if (kind == V1StatefulSet.class) {
            status.put("currentReplicas", replicas);
        }
        api.mergePatch(kind, namespace, workload, patch.toString());
        String key = kind.getSimpleName() + "/" + workload;
        String written = replicas + "/" + ready;
        if (!written.equals(writtenStatus.put(key, written))) {
            KubernetesObject stored = api.api(kind).get(namespace, workload).throwsApiException().getObject();
            Object storedStatus = stored instanceof V1StatefulSet set ? set.getStatus()
                    : stored instanceof V1Deployment deployment ? deployment.getStatus() : null;
            Integer storedReady = stored instanceof V1StatefulSet set && set.getStatus() != null ? set.getStatus().getReadyReplicas()
                    : stored instanceof V1Deployment deployment && deployment.getStatus() != null ? deployment.getStatus().getReadyReplicas()
                    : null;
            if (!Objects.equals(storedReady, ready)) {
                throw new IllegalStateException("the API server did not keep the status written to " + key + ": it holds "
                        + storedStatus);
            }
        }
    }

    // ---- for tests

    /** The router pod's API: {@code http://127.0.0.1:<port>} of pod 0 of Deployment {@code deploymentName}. */
    public synchronized String routerBaseUrl(String deploymentName) {
        PodProcess pod = pods.get(deploymentName + "-0");
        if (pod == null || pod.kind() != PodProcess.Kind.DEPLOYMENT || pod.hostPorts().isEmpty()) {
            throw new IllegalStateException("no pod of Deployment " + deploymentName + " with a port: " + pods.keySet());
        }
        int containerPort = pod.container().getPorts().getFirst().getContainerPort();
        return "http://" + LoopbackDns.LOOPBACK + ":" + pod.hostPort(containerPort);
    }

    /** {@code 127.0.0.1:<port>} where pod {@code podName} listens for its {@code containerPort}; null while it has no process. */
    public synchronized String podAddress(String podName, int containerPort) {
        PodProcess pod = pods.get(podName);
        if (pod == null || pod.hostPorts().isEmpty()) {
            return null;
        }
        return LoopbackDns.LOOPBACK + ":" + pod.hostPort(containerPort);
    }

    /** The pods running or starting now, by name. */
    public synchronized Set<String> podNames() {
        return Set.copyOf(pods.keySet());
    }

    /** The log of the pod {@code pod}: its processes' output and what this kubelet did with it. */
    public Path logFile(String pod) {
        return work.resolve("logs").resolve(pod + ".log");
    }

    /** The pod's folder of its volume {@code volume} (projected ConfigMap files are there). */
    public synchronized Path volumeFolder(String podName, String volume) {
        PodProcess pod = pods.get(podName);
        if (pod == null) {
            throw new IllegalStateException("no pod " + podName + ": " + pods.keySet());
        }
        return volumeFolder(pod, volume);
    }

    /** Every pod, its process and readiness, and the end of its log: for a test's failure message. */
    public synchronized String describe(int logLines) {
        StringBuilder out = new StringBuilder();
        for (PodProcess pod : pods.values()) {
            out.append("\n== ").append(pod).append("\n").append(pod.logTail(logLines));
        }
        return out.toString();
    }

    private void notice(PodProcess pod, String what) throws IOException {
        if (pendingNotices.add(pod.name() + ": " + what)) {
            pod.appendToLog("--- kubelet: " + pod.name() + " " + what);
        }
    }

    /** Stops every pod (SIGTERM to all at once, each its grace period up to 30 s, then kill) and waits until all are gone. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<CompletableFuture<Void>> all = new ArrayList<>(stopping.values());
        for (PodProcess pod : pods.values()) {
            all.add(stopInBackground(pod));
        }
        pods.clear();
        try {
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(MAX_GRACE.toSeconds() + 20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            throw new IllegalStateException("the pods did not all stop", e);
        }
    }
}
