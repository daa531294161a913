package io.moefleet.cli.fleet;

import com.hazelcast.client.HazelcastClient;
import com.hazelcast.client.config.ClientConfig;
import com.hazelcast.core.HazelcastInstance;
import io.moefleet.attention.AttentionServiceMain;
import io.moefleet.attention.KvPoolSettings;
import io.moefleet.attention.RemoteAttention;
import io.moefleet.attention.RoundRobinAssignment;
import io.moefleet.expert.ExpertPlacement;
import io.moefleet.expert.ExpertServiceMain;
import io.moefleet.expert.RemoteExperts;
import io.moefleet.kvcache.KvCacheMain;
import io.moefleet.kvcache.impl.ClientConfigs;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.rpc.ListenPorts;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A whole fleet on this machine, each service a JVM of its own on free ports ({@link ListenPorts}): the KV members
 * (one Hazelcast cluster), the expert shards, the attention instances (clients of the KV members: they publish full pages of
 * {@link FleetLayout#kvPageTokens()} tokens and restore cached prefixes from them). Each JVM gets an explicit heap bound ({@link HeapBounds}) and
 * the build's JVM flags ({@link ServiceJvmFlags}); all logs go to one folder, one file per process. {@link #start}
 * returns once every service is healthy; {@link #close} (or this JVM's exit) stops them all.
 */
public final class FleetProcesses implements AutoCloseable {

    /** Loading a large checkpoint's headers and mapping its shards can take minutes; a dead process fails at once. */
    private static final Duration START_TIMEOUT = Duration.ofMinutes(10);
    private static final Duration HEALTH_SLICE = Duration.ofMillis(500);
    private static final Duration RETRY_PAUSE = Duration.ofMillis(50);
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);
    private static final long KV_MEMORY_BUDGET = 256L << 20;
    /** The pages each attention instance keeps hot: the instance's default, counted in its heap bound. */
    private static final long HOT_PAGE_BYTES = KvPoolSettings.DEFAULT_HOT_BYTES;
    private static final String LOOPBACK = "127.0.0.1";
    /**
     * The services on every step's path (shards, attention instances) have C2 compile their code ten times sooner than
     * by default: their per-call code (gRPC, Netty, the handlers) runs a few times per layer, so by default it stays in
     * C1's code for the first one or two minutes under load, while a batch-1 step runs 20-40% slower (README, "The fleet
     * beside the engine"). The manifests in k8s/base start those pods with the same flag.
     */
    public static final String EARLY_JIT = "-XX:CompileThresholdScaling=0.1";

    private final Path logs;
    private final Map<String, String> environment;
    private final FleetLayout layout;
    private final ModelConfig config;
    private final ExpertPlacement placement;
    private final String kvClusterName;
    private final List<ServiceProcess> processes = new ArrayList<>();
    private final List<String> kvAddresses = new ArrayList<>();
    private final List<String> expertAddresses = new ArrayList<>();
    private final List<String> attentionAddresses = new ArrayList<>();
    private final Thread stopOnExit = new Thread(this::stopAll, "fleet-stop");
    private boolean stopping;                 // guarded by processes: no restart once the fleet stops
    private PrintStream restartLog;           // guarded by processes: non-null once restarts are on
    private final Map<String, Restarts> restarts = new java.util.HashMap<>();   // guarded by processes
    private final java.util.concurrent.ScheduledExecutorService restarter = java.util.concurrent.Executors
            .newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("fleet-restarts").unstarted(r));

    /** A service's restarts: how many, and the pause before the next, doubled while it keeps dying soon after a start. */
    private record Restarts(int count, Duration pause, long lastStartNanos) {}

    /** The first pause before a restart, its bound, and how long a process must run for the pause to start over. */
    private static final Duration RESTART_PAUSE = Duration.ofSeconds(1);
    private static final Duration RESTART_PAUSE_MAX = Duration.ofSeconds(30);
    private static final Duration RESTART_RESET = Duration.ofMinutes(1);

    private FleetProcesses(Path logs, Map<String, String> environment, ModelConfig config, FleetLayout layout,
            String kvClusterName) {
        this.logs = logs;
        this.layout = layout;
        this.environment = Map.copyOf(environment);
        this.config = config;
        this.placement = layout.placement();
        this.kvClusterName = kvClusterName;
    }

    /**
     * Starts the fleet of {@code layout}, its logs in a new folder under {@code logsRoot}, and waits until every service
     * is healthy: {@link #start(FleetLayout, Path, Map, PrintStream)} in {@link #newLogFolder}.
     */
    public static FleetProcesses start(FleetLayout layout, Path logsRoot, PrintStream err) {
        return start(layout, newLogFolder(logsRoot), Map.of(), err);
    }

    /** A new folder for one run's logs under {@code logsRoot}, named by the time. */
    public static Path newLogFolder(Path logsRoot) {
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS"));
        Path logs = logsRoot.resolve(stamp);
        try {
            Files.createDirectories(logs);
        } catch (IOException e) {
            throw new UncheckedIOException("fleet: cannot create the log folder " + logs, e);
        }
        return logs;
    }

    /**
     * Starts the fleet of {@code layout}, its logs in the folder {@code logs} (named on {@code err}), each service with
     * {@code environment} over this process's (tracing's {@code OTEL_*} settings), and waits until every service is
     * healthy. On any failure every process started is stopped before it throws.
     *
     * @throws FleetStartException naming the service that failed and its log
     */
    public static FleetProcesses start(FleetLayout layout, Path logs, Map<String, String> environment, PrintStream err) {
        long begin = System.nanoTime();
        String stamp = logs.getFileName().toString();
        FleetProcesses fleet;
        try (Checkpoint checkpoint = Checkpoint.open(layout.model())) {
            Files.createDirectories(logs);
            err.println("fleet: service logs in " + logs.toAbsolutePath());
            fleet = new FleetProcesses(logs, environment, checkpoint.config(), layout,
                    "moefleet-kv-" + ProcessHandle.current().pid() + "-" + stamp);
            Runtime.getRuntime().addShutdownHook(fleet.stopOnExit);
            try {
                fleet.launch(layout, new HeapBounds(checkpoint), ServiceJvmFlags.ofThisBuild());
            } catch (IOException | RuntimeException e) {
                fleet.close();
                throw new FleetStartException("could not start the fleet's processes: " + e.getMessage(), e);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("fleet: cannot create the log folder " + logs, e);
        }
        try {
            fleet.awaitHealthy(layout.kvMembers(), System.nanoTime() + START_TIMEOUT.toNanos());
        } catch (RuntimeException e) {
            fleet.close();
            throw e;
        }
        err.printf("fleet: %d kv member(s), %d expert shard(s), %d attention instance(s) serving after %.1f s%n",
                fleet.kvAddresses.size(), fleet.expertAddresses.size(), fleet.attentionAddresses.size(),
                (System.nanoTime() - begin) / 1e9);
        return fleet;
    }

    private void launch(FleetLayout layout, HeapBounds heaps, ServiceJvmFlags flags) throws IOException {
        String model = layout.model().toAbsolutePath().toString();
        List<Integer> kvPorts = new ArrayList<>();
        for (int m = 0; m < layout.kvMembers(); m++) {
            kvPorts.add(ListenPorts.take());
            kvAddresses.add(LOOPBACK + ":" + kvPorts.get(m));
        }
        List<String> kvFlags = new ArrayList<>(flags.common());
        kvFlags.addAll(flags.hazelcast());
        kvFlags.add(HeapBounds.xmx(HeapBounds.kvMember(KV_MEMORY_BUDGET)));
        for (int m = 0; m < layout.kvMembers(); m++) {
            launch("kv-" + m, kvFlags, KvCacheMain.class, "--port", kvPorts.get(m).toString(),
                    "--members", String.join(",", kvAddresses), "--memory-budget", (KV_MEMORY_BUDGET >> 20) + "m",
                    "--cluster-name", kvClusterName);
        }
        for (int s = 0; s < placement.shards(); s++) {
            int port = ListenPorts.take();
            expertAddresses.add(LOOPBACK + ":" + port);
            // every shard gets the whole placement (as JSON, the one form that carries any layout) and serves its part
            launch("expert-" + s, withHeap(stepPath(flags.common()), heaps.expertShard(placement, s)), ExpertServiceMain.class,
                    withTls(layout, "--model", model, "--port", Integer.toString(port), "--shard", Integer.toString(s),
                    "--placement", placementFile().toString(), "--threads", Integer.toString(layout.expertThreads())));
        }
        // attention instances are Hazelcast clients of the KV members: the same JVM flags for Hazelcast as the members
        List<String> attentionFlags = stepPath(flags.common());
        attentionFlags.addAll(flags.hazelcast());
        for (int a = 0; a < layout.attentionInstances(); a++) {
            int port = ListenPorts.take();
            attentionAddresses.add(LOOPBACK + ":" + port);
            launch("attention-" + a, withHeap(attentionFlags, heaps.attentionInstance(HOT_PAGE_BYTES)), AttentionServiceMain.class,
                    withTls(layout, "--model", model, "--port", Integer.toString(port), "--threads",
                    Integer.toString(layout.attentionThreads()), "--kv-pool", String.join(",", kvAddresses), "--kv-cluster-name",
                    kvClusterName, "--kv-page-tokens", Integer.toString(layout.kvPageTokens()), "--kv-hot-memory",
                    (HOT_PAGE_BYTES >> 20) + "m"));
        }
    }

    /** A gRPC service's arguments, with {@code --tls-dir} when the fleet runs over mutual TLS. */
    private static String[] withTls(FleetLayout layout, String... args) {
        if (layout.tlsDir() == null) {
            return args;
        }
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of(io.moefleet.rpc.TlsFiles.OPTION, layout.tlsDir().toAbsolutePath().toString()));
        return all.toArray(String[]::new);
    }

    private Path placementFile() throws IOException {
        Path file = logs.resolve("placement.json");
        if (!Files.exists(file)) {
            Files.writeString(file, placement.toJson());
        }
        return file;
    }

    private void launch(String name, List<String> jvmFlags, Class<?> main, String... args) throws IOException {
        ServiceProcess process = ServiceProcess.start(name, jvmFlags, main.getName(), List.of(args), environment, logs);
        synchronized (processes) {
            processes.add(process);
        }
        process.process().onExit().thenRun(() -> exited(process));
    }

    /**
     * From now on a service process that exits unasked is started again, with the same command (port, arguments) and its
     * output appended to its log, after a pause of 1 s doubled up to 30 s while it keeps dying within a minute of its
     * start: what a kubelet does for a pod's container. The router routes around it meanwhile and takes it back once
     * its health answers. Each restart is reported on {@code err}.
     */
    public void restartServicesThatExit(PrintStream err) {
        synchronized (processes) {
            restartLog = err;
        }
    }

    private void exited(ServiceProcess process) {
        Duration pause;
        synchronized (processes) {
            if (stopping || restartLog == null || !processes.contains(process)) {
                return;
            }
            Restarts before = restarts.get(process.name());
            boolean soon = before != null && System.nanoTime() - before.lastStartNanos() < RESTART_RESET.toNanos();
            pause = soon ? before.pause().multipliedBy(2) : RESTART_PAUSE;
            pause = pause.compareTo(RESTART_PAUSE_MAX) > 0 ? RESTART_PAUSE_MAX : pause;
            int count = before == null ? 1 : before.count() + 1;
            restarts.put(process.name(), new Restarts(count, pause, before == null ? 0 : before.lastStartNanos()));
            restartLog.printf("fleet: %s exited with code %d; starting it again in %.0f s (restart %d; log: %s)%n", process.name(),
                    process.process().exitValue(), pause.toMillis() / 1e3, count, process.log());
        }
        restarter.schedule(() -> restart(process), pause.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    private void restart(ServiceProcess dead) {
        synchronized (processes) {
            int index = processes.indexOf(dead);
            if (stopping || index < 0) {
                return;
            }
            try {
                ServiceProcess again = dead.restart();
                processes.set(index, again);
                Restarts counted = restarts.get(dead.name());
                restarts.put(dead.name(), new Restarts(counted.count(), counted.pause(), System.nanoTime()));
                again.process().onExit().thenRun(() -> exited(again));
                restartLog.printf("fleet: %s started again (pid %d)%n", dead.name(), again.process().pid());
            } catch (IOException e) {
                restartLog.printf("fleet: could not start %s again: %s%n", dead.name(), e.getMessage());
            }
        }
    }

    /** How many times each service was started again since the fleet started, by name (those never restarted: absent). */
    public Map<String, Integer> restartCounts() {
        synchronized (processes) {
            Map<String, Integer> counts = new java.util.TreeMap<>();
            restarts.forEach((name, r) -> counts.put(name, r.count()));
            return counts;
        }
    }

    /** The flags of a service on every step's path: {@code flags} and {@link #EARLY_JIT}. */
    private static List<String> stepPath(List<String> flags) {
        List<String> all = new ArrayList<>(flags);
        all.add(EARLY_JIT);
        return all;
    }

    private static List<String> withHeap(List<String> flags, long heapBytes) {
        List<String> all = new ArrayList<>(flags);
        all.add(HeapBounds.xmx(heapBytes));
        return all;
    }

    private void awaitHealthy(int kvMembers, long deadline) {
        for (String address : kvAddresses) {
            retryUntil(deadline, "kv member at " + address, () -> probePort(address));
        }
        retryUntil(deadline, "kv cluster " + kvClusterName, () -> checkKvCluster(kvMembers));
        io.grpc.ChannelCredentials credentials = layout.routerCredentials();
        try (RemoteExperts experts = new RemoteExperts(config, placement, expertAddresses, HEALTH_SLICE, OpenTelemetry.noop(),
                credentials)) {
            retryUntil(deadline, "expert shards", () -> experts.awaitServing(HEALTH_SLICE));
        }
        try (RemoteAttention attention = new RemoteAttention(config, attentionAddresses, new RoundRobinAssignment(), HEALTH_SLICE,
                OpenTelemetry.noop(), credentials)) {
            retryUntil(deadline, "attention instances", () -> attention.awaitServing(HEALTH_SLICE));
        }
    }

    /** Runs {@code check} until it passes; fails at once, naming it, when any process has died, else at the deadline. */
    private void retryUntil(long deadline, String what, Runnable check) {
        while (true) {
            failIfAnyDied();
            try {
                check.run();
                return;
            } catch (RuntimeException e) {
                if (System.nanoTime() > deadline) {
                    throw new FleetStartException(what + " not healthy after " + START_TIMEOUT.toSeconds() + " s: "
                            + e.getMessage() + " (logs in " + logs + ")", e);
                }
                pause();
            }
        }
    }

    private void failIfAnyDied() {
        synchronized (processes) {
            for (ServiceProcess process : processes) {
                String notice = process.deathNotice();
                if (notice != null) {
                    throw new FleetStartException(notice);
                }
            }
        }
    }

    /** A member's port answering is cheap to poll; the cluster check below costs a Hazelcast client. */
    private static void probePort(String address) {
        int colon = address.lastIndexOf(':');
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))),
                    (int) HEALTH_SLICE.toMillis());
        } catch (IOException e) {
            throw new UncheckedIOException("not accepting connections", e);
        }
    }

    private void checkKvCluster(int members) {
        ClientConfig probe = ClientConfigs.of(kvClusterName, kvAddresses, HEALTH_SLICE);
        probe.setProperty("hazelcast.logging.type", "none");   // a probe's connect and disconnect are no news on stderr
        HazelcastInstance client = HazelcastClient.newHazelcastClient(probe);
        try {
            int joined = client.getCluster().getMembers().size();
            if (joined != members) {
                throw new IllegalStateException(joined + " of " + members + " members joined");
            }
        } finally {
            client.shutdown();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(RETRY_PAUSE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FleetStartException("interrupted while waiting for the fleet to start", e);
        }
    }

    public ExpertPlacement placement() {
        return placement;
    }

    /** How to call this fleet's services: mutual TLS as the router when it runs over TLS, else plaintext. */
    public io.grpc.ChannelCredentials routerCredentials() {
        return layout.routerCredentials();
    }

    /** Shard s's "host:port" at index s. */
    public List<String> expertAddresses() {
        return List.copyOf(expertAddresses);
    }

    /** Attention instance i's "host:port" at index i. */
    public List<String> attentionAddresses() {
        return List.copyOf(attentionAddresses);
    }

    /** Each service process's pid, by its name (expert-0, attention-0, kv-0, ...). */
    public java.util.Map<String, Long> pids() {
        java.util.Map<String, Long> pids = new java.util.LinkedHashMap<>();
        synchronized (processes) {
            for (ServiceProcess service : processes) {
                pids.put(service.name(), service.process().pid());
            }
        }
        return pids;
    }

    /** Whether every service process is still running (what the API's health endpoint reports). */
    public boolean allRunning() {
        synchronized (processes) {
            return processes.stream().allMatch(service -> service.process().isAlive());
        }
    }

    /**
     * Leaves stopping the services to the caller's own shutdown hook, which drains the API first and then closes this:
     * without that, this JVM's exit stops them at once, beside the drain, and the requests under way fail.
     */
    public void keepUntilClosed() {
        try {
            Runtime.getRuntime().removeShutdownHook(stopOnExit);
        } catch (IllegalStateException | IllegalArgumentException e) {
            // the JVM is exiting already, or the hook was never registered
        }
    }

    /** Stops every process (SIGTERM, a grace period, then kill) and waits until each is gone. */
    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(stopOnExit);
        } catch (IllegalStateException | IllegalArgumentException e) {
            // the JVM is exiting and the hook is already running, or it was never registered: stopAll is idempotent
        }
        stopAll();
    }

    private void stopAll() {
        synchronized (processes) {
            stopping = true;
            restarter.shutdownNow();
            processes.forEach(ServiceProcess::requestStop);
            long end = System.nanoTime() + STOP_GRACE.toNanos();
            boolean interrupted = false;
            for (ServiceProcess process : processes) {
                try {
                    process.awaitStop((end - System.nanoTime()) / 1_000_000);
                } catch (InterruptedException e) {
                    interrupted = true;
                    process.process().destroyForcibly();
                }
            }
            processes.clear();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
