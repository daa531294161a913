package io.moefleet.cli.fleet;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Zipkin's server in a JVM of its own, the trace backend of {@code serve --tracing} and {@code demo --tracing}: the
 * {@code io.zipkin:zipkin-server} exec jar that the launcher's build copies to {@code target/zipkin/zipkin-server.jar},
 * spans in memory ({@code STORAGE_TYPE=mem}, a bounded span count under a bounded heap), listening on loopback only, its
 * output in the fleet's log folder. {@link #start} returns once {@code GET /health} answers 200; {@link #close} (or
 * this JVM's exit) stops it.
 */
public final class ZipkinServer implements AutoCloseable {

    public static final int DEFAULT_PORT = 9411;
    /** Where the build copies the exec jar, beside the launcher's jar ({@code target/launcher.jar}) or classes. */
    static final String JAR = "zipkin/zipkin-server.jar";
    /** Overrides where the jar is looked for (a path to the jar itself). */
    public static final String JAR_PROPERTY = "fleet.zipkin.jar";

    /** It is healthy in 5 to 12 s on two cores; a dead process fails at once. */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final String HEAP = "-Xmx256m";
    /** Spans kept in memory (the oldest traces go first): the default 500 000 does not fit the heap above. */
    private static final int MAX_SPANS = 100_000;
    private static final String LOOPBACK = "127.0.0.1";

    private final ServiceProcess process;
    private final int port;
    private final Thread stopOnExit = new Thread(this::stop, "zipkin-stop");

    private ZipkinServer(ServiceProcess process, int port) {
        this.process = process;
        this.port = port;
    }

    /**
     * Starts Zipkin's server from {@code jar} on {@code port} (loopback), its output in {@code logs/zipkin.log}, and
     * waits until it is healthy.
     *
     * @throws FleetStartException when the port is taken, the process dies or it is not healthy in time (it is stopped)
     */
    public static ZipkinServer start(Path jar, int port, Path logs, PrintStream err) {
        long begin = System.nanoTime();
        if (!isFree(port)) {
            throw new FleetStartException("port " + port + " is taken (a Zipkin already running? see http://" + LOOPBACK + ":"
                    + port + "/zipkin/): give --zipkin-port P, or 0 for a free port");
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                HEAP, "-XX:+UseSerialGC",
                // what its Armeria and Netty ask for on JDK 25 (else a warning each)
                "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED",
                "-jar", jar.toString(),
                // on loopback only (the default is every interface); QUERY_PORT alone would set the port
                "--armeria.ports[0].ip=" + LOOPBACK, "--armeria.ports[0].port=" + port, "--armeria.ports[0].protocols[0]=http"));
        Path log = logs.resolve("zipkin.log");
        Map<String, String> environment = Map.of("QUERY_PORT", Integer.toString(port), "STORAGE_TYPE", "mem",
                "MEM_MAX_SPANS", Integer.toString(MAX_SPANS), "SELF_TRACING_ENABLED", "false");
        ZipkinServer zipkin;
        try {
            zipkin = new ZipkinServer(ServiceProcess.start("zipkin", command, environment, log), port);
        } catch (IOException e) {
            throw new FleetStartException("could not start Zipkin's server (" + String.join(" ", command) + "): " + e.getMessage(), e);
        }
        Runtime.getRuntime().addShutdownHook(zipkin.stopOnExit);
        try {
            zipkin.awaitHealthy();
        } catch (RuntimeException e) {
            zipkin.close();
            throw e;
        }
        err.printf("zipkin: serving on port %d after %.1f s (log: %s)%n", port, (System.nanoTime() - begin) / 1e9, log);
        return zipkin;
    }

    /**
     * The exec jar the build copied beside the launcher: {@value #JAR} under the folder holding the launcher's jar or
     * classes, else under {@code fleet.home}'s {@code launcher/target}; {@value #JAR_PROPERTY} names it instead.
     *
     * @throws FleetStartException saying where it looked and how to get it
     */
    public static Path locateJar() {
        String given = System.getProperty(JAR_PROPERTY);
        if (given != null) {
            Path jar = Path.of(given);
            if (!Files.isRegularFile(jar)) {
                throw new FleetStartException("Zipkin's server jar is missing: -D" + JAR_PROPERTY + " names " + jar
                        + ", which is not a file");
            }
            return jar;
        }
        Set<Path> candidates = new LinkedHashSet<>();
        CodeSource source = ZipkinServer.class.getProtectionDomain().getCodeSource();
        if (source != null) {
            try {
                // target/launcher.jar or target/classes: both beside target/zipkin
                candidates.add(Path.of(source.getLocation().toURI()).toAbsolutePath().getParent().resolve(JAR).normalize());
            } catch (URISyntaxException | RuntimeException e) {
                // not a file location: the other candidates remain
            }
        }
        String home = System.getProperty("fleet.home");
        if (home != null) {
            candidates.add(Path.of(home, "launcher", "target").toAbsolutePath().resolve(JAR).normalize());
        }
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new FleetStartException("Zipkin's server jar is missing: looked for " + candidates
                + "; the launcher's build copies io.zipkin:zipkin-server's exec jar there (./fleet build), or give "
                + "--otlp-endpoint URL to send the spans to a collector of your own");
    }

    private static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void awaitHealthy() {
        URI health = URI.create(base() + "/health");
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String last = "no answer";
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
            while (true) {
                String notice = process.deathNotice();
                if (notice != null) {
                    throw new FleetStartException(notice);
                }
                try {
                    HttpResponse<Void> response = http.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(2)).build(),
                            HttpResponse.BodyHandlers.discarding());
                    if (response.statusCode() == 200) {
                        return;
                    }
                    last = "status " + response.statusCode();
                } catch (IOException e) {
                    last = e.toString();
                }
                if (System.nanoTime() > deadline) {
                    throw new FleetStartException("Zipkin's server was not healthy after " + START_TIMEOUT.toSeconds() + " s ("
                            + health + ": " + last + "; log: " + process.log() + ")");
                }
                Thread.sleep(POLL);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FleetStartException("interrupted while waiting for Zipkin's server to start", e);
        }
    }

    public int port() {
        return port;
    }

    /** Its web UI, e.g. {@code http://127.0.0.1:9411/zipkin/}. */
    public String uiUrl() {
        return base() + "/zipkin/";
    }

    /** Where exporters send spans (Zipkin's JSON v2): {@code OTEL_EXPORTER_ZIPKIN_ENDPOINT}. */
    public String spansEndpoint() {
        return base() + "/api/v2/spans";
    }

    /** The process, for tests that check it is gone. */
    public ProcessHandle process() {
        return process.process().toHandle();
    }

    private String base() {
        return "http://" + LOOPBACK + ":" + port;
    }

    /**
     * Leaves stopping it to the caller's own shutdown hook, which closes it once the fleet has stopped (its services
     * send their last spans as they stop): without that, this JVM's exit stops it at once, beside everything else.
     */
    public void keepUntilClosed() {
        dropExitHook();
    }

    /** Stops it (SIGTERM, a grace period, then kill) and waits until it is gone. */
    @Override
    public void close() {
        dropExitHook();
        stop();
    }

    private void dropExitHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(stopOnExit);
        } catch (IllegalStateException | IllegalArgumentException e) {
            // the JVM is exiting and the hook is already running, or it was never registered: stop is idempotent
        }
    }

    private synchronized void stop() {
        process.requestStop();
        try {
            process.awaitStop(STOP_GRACE.toMillis());
        } catch (InterruptedException e) {
            process.process().destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
