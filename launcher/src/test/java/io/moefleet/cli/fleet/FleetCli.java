package io.moefleet.cli.fleet;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.cli.Main;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The command line in a JVM of its own, as {@code ./fleet} runs it, and the check that no service outlives it. */
public final class FleetCli {

    private static final List<String> SERVICE_MAINS = List.of("io.moefleet.expert.ExpertServiceMain",
            "io.moefleet.attention.AttentionServiceMain", "io.moefleet.kvcache.KvCacheMain");

    private FleetCli() {}

    /** The java command for {@code argv}; {@code serviceFlags} (null: the build's) overrides the services' JVM flags. */
    static List<String> command(Path home, String serviceFlags, String... argv) {
        String flags = System.getProperty("fleet.jvm.flags");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(Arrays.asList(flags.trim().split("\\s+")));
        command.addAll(List.of("-Xmx512m", "-Dfleet.jvm.flags=" + (serviceFlags != null ? serviceFlags : flags),
                "-Dhazelcast.jvm.flags=" + System.getProperty("hazelcast.jvm.flags"),
                "-Dfleet.home=" + home, "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(Arrays.asList(argv));
        return command;
    }

    /** A finished command: its exit code, stdout, stderr and pid. */
    record Result(int code, String out, String err, long pid) {}

    /**
     * Runs {@link #command} in {@code home} (its outputs in files there) and waits up to 100 s for it; whatever it
     * started is killed afterwards.
     */
    static Result run(Path home, String serviceFlags, String... argv) throws IOException, InterruptedException {
        Path out = Files.createTempFile(home, "cli", ".out");
        Path err = Files.createTempFile(home, "cli", ".err");
        Process cli = new ProcessBuilder(command(home, serviceFlags, argv))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            assertTrue(cli.waitFor(100, java.util.concurrent.TimeUnit.SECONDS), "the command did not finish");
        } finally {
            cli.descendants().forEach(ProcessHandle::destroyForcibly);
            cli.destroyForcibly();
        }
        return new Result(cli.exitValue(), Files.readString(out), Files.readString(err), cli.pid());
    }

    /**
     * Once the command has exited, a service it left behind is no longer its descendant (the OS re-parents it), so
     * every process is searched: services of a test name its checkpoint, KV members the command's pid in their cluster.
     */
    static void assertNoServiceProcessLeft(long commandPid, Path checkpoint) {
        String kvCluster = "moefleet-kv-" + commandPid + "-";
        List<String> left = ProcessHandle.allProcesses()
                .filter(ProcessHandle::isAlive)
                .map(p -> p.pid() + " " + commandLine(p))
                .filter(line -> SERVICE_MAINS.stream().anyMatch(line::contains)
                        && (line.contains(checkpoint.toString()) || line.contains(kvCluster)))
                .toList();
        assertTrue(left.isEmpty(), "service processes left: " + left);
    }

    /**
     * A process's whole command line. On Linux {@code ProcessHandle.Info.commandLine()} stops at 4096 bytes, and a
     * service's {@code -cp} (the test's class path) is longer, so its main class and arguments are cut off: read
     * {@code /proc/PID/cmdline} instead where there is one.
     */
    public static String commandLine(ProcessHandle process) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(process.pid()), "cmdline")),
                    StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException | RuntimeException e) {
            return process.info().commandLine().orElse("");
        }
    }

    /**
     * {@code serve} over a tiny checkpoint (seed 5) written in {@code home}, on a free port, with {@code flags} (the
     * fleet's shape), once its health answers; closing it stops serve (SIGTERM) and checks that no service is left.
     */
    record ServedTiny(Process process, int port, Path log, Path checkpoint) implements AutoCloseable {

        static ServedTiny start(Path home, String... flags) throws IOException, InterruptedException {
            Path tiny = home.resolve("tiny");
            io.moefleet.checkpoint.CheckpointWriter.write(io.moefleet.checkpoint.Preset.config("tiny"), 5,
                    io.moefleet.checkpoint.WeightFormat.BF16, tiny);
            int port = io.moefleet.rpc.ListenPorts.take();
            Path log = home.resolve("serve.err");
            List<String> argv = new ArrayList<>(List.of("serve", "--model", tiny.toString(), "--port", Integer.toString(port)));
            argv.addAll(Arrays.asList(flags));
            Process serve = new ProcessBuilder(command(home, null, argv.toArray(String[]::new)))
                    .redirectOutput(home.resolve("serve.out").toFile()).redirectError(log.toFile()).start();
            ServedTiny served = new ServedTiny(serve, port, log, tiny);
            try {
                awaitServing(serve, port, log);
            } catch (IOException | InterruptedException | RuntimeException | AssertionError e) {
                serve.descendants().forEach(ProcessHandle::destroyForcibly);
                serve.destroyForcibly();
                throw e;
            }
            return served;
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            assertTrue(process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "serve did not stop");
            assertNoServiceProcessLeft(process.pid(), checkpoint);
        }
    }

    /** Waits (up to 150 s) until {@code serve}'s {@code /health} on {@code port} answers 200; fails with its log otherwise. */
    static void awaitServing(Process serve, int port, Path log) throws IOException, InterruptedException {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.URI health = java.net.URI.create("http://127.0.0.1:" + port + "/health");
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(150);
        while (System.nanoTime() < deadline && serve.isAlive()) {
            try {
                if (http.send(java.net.http.HttpRequest.newBuilder(health).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notListeningYet) {
                // serve has not bound its port yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("serve never answered /health 200: " + Files.readString(log));
    }
}
