package io.moefleet.cli.k8s;

import io.grpc.ManagedChannel;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1ContainerPort;
import io.kubernetes.client.openapi.models.V1PodTemplateSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One pod of a StatefulSet or Deployment as the {@link ProcessKubelet} runs it: its identity (name, ordinal, labels),
 * the template it was made from, a loopback port for each container port (kept for the pod's life, as a pod keeps its
 * IP over container restarts), its folder, its log, and the process of its first container, restarted when it exits.
 */
final class PodProcess {

    /** Restart back-off after an exit: kubelet's CrashLoopBackOff doubling, compressed (1 s up to 30 s, not 10 s to 5 min). */
    private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /** A process that ran this long before it exited starts its back-off anew. */
    private static final Duration STABLE = Duration.ofSeconds(60);

    enum Kind { STATEFUL_SET, DEPLOYMENT }

    private final Kind kind;
    private final String workload;
    private final String name;
    private final int ordinal;
    private final String governingService;
    private final V1PodTemplateSpec template;
    private final Map<String, String> labels;
    private final Map<Integer, Integer> hostPorts;
    private final Map<String, Integer> namedPorts = new LinkedHashMap<>();
    private final Path folder;
    private final Path log;

    private Process process;
    private Instant startedAt;
    private int starts;
    private Duration backoff = Duration.ZERO;
    private Instant notBefore = Instant.MIN;
    private boolean ready;
    private boolean stopping;
    private ManagedChannel grpc;

    PodProcess(Kind kind, String workload, int ordinal, String governingService, V1PodTemplateSpec template,
            Map<Integer, Integer> hostPorts, Path work) {
        this.kind = kind;
        this.workload = workload;
        this.name = workload + "-" + ordinal;
        this.ordinal = ordinal;
        this.governingService = governingService;
        this.template = template;
        Map<String, String> all = new LinkedHashMap<>();
        if (template.getMetadata() != null && template.getMetadata().getLabels() != null) {
            all.putAll(template.getMetadata().getLabels());
        }
        if (kind == Kind.STATEFUL_SET) {
            all.put("apps.kubernetes.io/pod-index", Integer.toString(ordinal));
            all.put("statefulset.kubernetes.io/pod-name", name);
        }
        this.labels = Map.copyOf(all);
        this.hostPorts = Map.copyOf(hostPorts);
        for (V1ContainerPort port : ports(template)) {
            if (port.getName() != null) {
                namedPorts.put(port.getName(), port.getContainerPort());
            }
        }
        this.folder = work.resolve("pods").resolve(name);
        this.log = work.resolve("logs").resolve(name + ".log");
    }

    /** Every container port of the template's containers. */
    static List<V1ContainerPort> ports(V1PodTemplateSpec template) {
        return template.getSpec().getContainers().stream()
                .flatMap(c -> c.getPorts() == null ? java.util.stream.Stream.<V1ContainerPort>empty() : c.getPorts().stream())
                .toList();
    }

    Kind kind() {
        return kind;
    }

    String workload() {
        return workload;
    }

    String name() {
        return name;
    }

    int ordinal() {
        return ordinal;
    }

    /** The Service that gives this pod its DNS name ({@code <pod>.<service>}), for a StatefulSet's pod; else null. */
    String governingService() {
        return governingService;
    }

    V1PodTemplateSpec template() {
        return template;
    }

    V1Container container() {
        return template.getSpec().getContainers().getFirst();
    }

    Map<String, String> labels() {
        return labels;
    }

    /** The loopback port standing for {@code containerPort}; null when the pod has no such port. */
    Integer hostPort(int containerPort) {
        return hostPorts.get(containerPort);
    }

    Map<Integer, Integer> hostPorts() {
        return hostPorts;
    }

    /** The container port named {@code portName}; null when none is. */
    Integer containerPort(String portName) {
        return namedPorts.get(portName);
    }

    Path folder() {
        return folder;
    }

    Path log() {
        return log;
    }

    Process process() {
        return process;
    }

    int starts() {
        return starts;
    }

    boolean running() {
        return process != null && process.isAlive();
    }

    boolean ready() {
        return ready && running();
    }

    void ready(boolean ready) {
        this.ready = ready;
    }

    boolean stopping() {
        return stopping;
    }

    /** Whether a start is due: never started, or exited and its back-off is over. */
    boolean dueToStart(Instant now) {
        return !stopping && !running() && !now.isBefore(notBefore);
    }

    /** Records an exit seen now (once per exit) and sets the back-off before the next start. */
    void noteExit(Instant now) throws IOException {
        if (process == null || process.isAlive() || stopping || notBefore.isAfter(startedAt)) {
            return;
        }
        backoff = Duration.between(startedAt, now).compareTo(STABLE) > 0 ? FIRST_BACKOFF
                : backoff.isZero() ? FIRST_BACKOFF : min(backoff.multipliedBy(2), MAX_BACKOFF);
        notBefore = now.plus(backoff);
        ready = false;
        appendToLog("--- kubelet: " + name + " exited with " + process.exitValue() + "; restarting in " + backoff.toMillis()
                + " ms (restartPolicy Always)");
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    void start(List<String> command, Map<String, String> environment, Instant now) throws IOException {
        Files.createDirectories(log.getParent());
        Files.createDirectories(folder);
        starts++;
        appendToLog("--- kubelet: start " + starts + " of " + name + " at " + now + ": "
                + String.join(" ", command).replace(System.getProperty("java.class.path"), "<this JVM's class path>"));
        ProcessBuilder builder = new ProcessBuilder(command).directory(folder.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().putAll(environment);
        process = builder.start();
        startedAt = now;
        notBefore = Instant.MIN;
        ready = false;
    }

    void appendToLog(String line) throws IOException {
        Files.createDirectories(log.getParent());
        Files.writeString(log, line + System.lineSeparator(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }

    /** SIGTERM, as a pod's deletion: the process has its grace period to leave. */
    void requestStop() {
        stopping = true;
        ready = false;
        if (process != null && process.isAlive()) {
            process.destroy();
        }
        closeChannel();
    }

    /** Waits for the process to exit after {@link #requestStop}, killing it once {@code grace} is over; true if it left by itself. */
    boolean awaitStop(Duration grace) throws InterruptedException {
        if (process == null) {
            return true;
        }
        if (process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
            return true;
        }
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        return false;
    }

    /** The channel the gRPC readiness probe uses (one per pod, its back-off reset before each probe). */
    ManagedChannel grpcChannel(java.util.function.Supplier<ManagedChannel> open) {
        if (grpc == null) {
            grpc = open.get();
        }
        return grpc;
    }

    void closeChannel() {
        if (grpc != null) {
            grpc.shutdownNow();
            grpc = null;
        }
    }

    /** The last {@code lines} lines of the pod's log, for failure messages. */
    String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | RuntimeException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public String toString() {
        return name + (running() ? " pid " + process.pid() : process == null ? " not started" : " exited " + process.exitValue())
                + (ready() ? " ready" : " not ready") + ", starts " + starts + ", ports " + hostPorts;
    }
}
