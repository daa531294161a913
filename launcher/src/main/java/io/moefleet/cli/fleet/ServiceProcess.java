package io.moefleet.cli.fleet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One service JVM of a fleet: its name (as in its log file's name), the process, its log (stdout and stderr), and the
 * command and environment it was started with (to start it again).
 */
record ServiceProcess(String name, Process process, Path log, List<String> command, Map<String, String> environment) {

    private static final int LOG_LINES_SHOWN = 5;

    /**
     * Starts {@code mainClass} in a JVM of its own: this JVM's java and class path, {@code jvmFlags}, this process's
     * environment with {@code environment} over it, output to {@code logs/name.log}.
     */
    static ServiceProcess start(String name, List<String> jvmFlags, String mainClass, List<String> args,
            Map<String, String> environment, Path logs) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmFlags);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(args);
        return start(name, command, environment, logs.resolve(name + ".log"));
    }

    /** Runs {@code command} with this process's environment and {@code environment} over it, output to {@code log}. */
    static ServiceProcess start(String name, List<String> command, Map<String, String> environment, Path log) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().putAll(environment);
        return new ServiceProcess(name, builder.start(), log, List.copyOf(command), Map.copyOf(environment));
    }

    /** The same command in a new process (same port and arguments), its output appended to the same log. */
    ServiceProcess restart() throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().putAll(environment);
        return new ServiceProcess(name, builder.start(), log, command, environment);
    }

    /** Null while it runs; else what ended it, with the end of its log, for a start-up failure message. */
    String deathNotice() {
        if (process.isAlive()) {
            return null;
        }
        return name + " exited with code " + process.exitValue() + " during start-up (log: " + log + ")" + logTail();
    }

    private String logTail() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            List<String> tail = lines.subList(Math.max(0, lines.size() - LOG_LINES_SHOWN), lines.size());
            return tail.isEmpty() ? "" : ":\n  " + String.join("\n  ", tail);
        } catch (IOException e) {
            return "";
        }
    }

    /** Asks it to stop (SIGTERM: the service's shutdown hook stops its server). */
    void requestStop() {
        process.destroy();
    }

    /** Waits up to {@code millis} for it to end, then kills it and waits for that. */
    void awaitStop(long millis) throws InterruptedException {
        if (!process.waitFor(Math.max(0, millis), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
