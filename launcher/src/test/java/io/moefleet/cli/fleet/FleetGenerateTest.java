package io.moefleet.cli.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.cli.Main;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./fleet generate --fleet} as a user runs it: the command line in a JVM of its own, which starts the service
 * JVMs; afterwards none of them may be left, whether the run succeeded or a service failed to start.
 */
@Timeout(120)   // a hang fails the test rather than stalling the build
class FleetGenerateTest {

    private static final List<String> SERVICE_MAINS = List.of("io.moefleet.expert.ExpertServiceMain",
            "io.moefleet.attention.AttentionServiceMain", "io.moefleet.kvcache.KvCacheMain");

    @TempDir
    static Path dir;

    private static Path tiny;

    private record Result(int code, String out, String err, long pid) {}

    @BeforeAll
    static void makeCheckpoint() throws IOException {
        tiny = dir.resolve("tiny");
        CheckpointWriter.write(Preset.config("tiny"), 11, WeightFormat.BF16, tiny);
    }

    @Test
    void fleetPrintsTheEnginesTokensAndLeavesNoProcess() throws Exception {
        String[] generate = {"generate", "--model", tiny.toString(), "--tokens", "5,17,42,7", "--max-tokens", "6", "--threads", "1"};
        Result engine = cli(null, generate);
        assertEquals(0, engine.code(), engine.err());

        List<String> fleet = new ArrayList<>(Arrays.asList(generate));
        fleet.addAll(List.of("--fleet", "--expert-shards", "2", "--attention-instances", "2", "--kv-members", "1",
                "--service-threads", "1"));
        Result viaFleet = cli(null, fleet.toArray(String[]::new));
        assertEquals(0, viaFleet.code(), viaFleet.err());
        assertEquals(engine.out(), viaFleet.out());
        assertEquals(6, viaFleet.out().trim().split(" ").length, viaFleet.out());
        assertTrue(viaFleet.err().contains("serving after"), viaFleet.err());
        assertNoServiceProcessLeft(viaFleet);
    }

    @Test
    void aServiceThatCannotStartFailsTheRunNamingItsLog() throws Exception {
        // every service JVM gets the build's flags: an option the JVM does not know stops each at once
        String badFlags = System.getProperty("fleet.jvm.flags") + " -XX:+NoSuchFleetOption";
        Result result = cli(badFlags, "generate", "--model", tiny.toString(), "--tokens", "1,2", "--max-tokens", "2",
                "--fleet", "--expert-shards", "2", "--kv-members", "1", "--service-threads", "1");
        assertEquals(1, result.code(), result.err());
        assertTrue(result.err().matches("(?s).*fleet generate: (kv|expert|attention)-\\d exited with code 1 during start-up "
                + "\\(log: \\S+\\.log\\).*"), result.err());
        assertTrue(result.err().contains("NoSuchFleetOption"), "the end of the log is shown: " + result.err());
        assertNoServiceProcessLeft(result);
    }

    @Test
    void contradictoryOrMisplacedFlagsAreUsageErrors() throws Exception {
        Result both = cli(null, "generate", "--model", tiny.toString(), "--tokens", "1", "--fleet",
                "--expert-shards", "2", "--experts-per-shard", "4");
        assertEquals(2, both.code(), both.err());
        assertTrue(both.err().contains("give exactly one of --expert-shards N, --experts-per-shard K"), both.err());

        Result withoutFleet = cli(null, "generate", "--model", tiny.toString(), "--tokens", "1", "--kv-members", "3");
        assertEquals(2, withoutFleet.code(), withoutFleet.err());
        assertTrue(withoutFleet.err().contains("--kv-members goes with --fleet"), withoutFleet.err());
        assertFalse(withoutFleet.err().contains("serving after"), withoutFleet.err());
    }

    /** The command line in a JVM of its own, as {@code ./fleet} runs it; {@code serviceFlags} overrides the services' JVM flags. */
    private static Result cli(String serviceFlags, String... argv) throws Exception {
        String flags = System.getProperty("fleet.jvm.flags");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(Arrays.asList(flags.trim().split("\\s+")));
        command.addAll(List.of("-Xmx512m", "-Dfleet.jvm.flags=" + (serviceFlags != null ? serviceFlags : flags),
                "-Dhazelcast.jvm.flags=" + System.getProperty("hazelcast.jvm.flags"),
                "-Dfleet.home=" + dir, "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(Arrays.asList(argv));
        Path out = Files.createTempFile(dir, "cli", ".out");
        Path err = Files.createTempFile(dir, "cli", ".err");
        Process cli = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            assertTrue(cli.waitFor(100, TimeUnit.SECONDS), "the command did not finish");
        } finally {
            cli.descendants().forEach(ProcessHandle::destroyForcibly);
            cli.destroyForcibly();
        }
        return new Result(cli.exitValue(), Files.readString(out), Files.readString(err), cli.pid());
    }

    /**
     * Once the command has exited, a service it left behind is no longer its descendant (the OS re-parents it), so
     * every process is searched: services of this test name its checkpoint, KV members the command's pid in their cluster.
     */
    private static void assertNoServiceProcessLeft(Result run) {
        String kvCluster = "moefleet-kv-" + run.pid() + "-";
        List<String> left = ProcessHandle.allProcesses()
                .map(p -> p.pid() + " " + p.info().commandLine().orElse(""))
                .filter(line -> SERVICE_MAINS.stream().anyMatch(line::contains)
                        && (line.contains(tiny.toString()) || line.contains(kvCluster)))
                .toList();
        assertTrue(left.isEmpty(), "service processes left: " + left);
    }
}
