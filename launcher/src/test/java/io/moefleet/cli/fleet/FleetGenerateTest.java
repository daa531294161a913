package io.moefleet.cli.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.cli.Main;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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

    @TempDir
    static Path dir;

    private static Path tiny;

    @BeforeAll
    static void makeCheckpoint() throws IOException {
        tiny = dir.resolve("tiny");
        CheckpointWriter.write(Preset.config("tiny"), 11, WeightFormat.BF16, tiny);
    }

    @Test
    void fleetPrintsTheEnginesTokensAndLeavesNoProcess() throws Exception {
        String[] generate = {"generate", "--model", tiny.toString(), "--tokens", "5,17,42,7", "--max-tokens", "6", "--threads", "1"};
        FleetCli.Result engine = cli(null, generate);
        assertEquals(0, engine.code(), engine.err());

        List<String> fleet = new ArrayList<>(Arrays.asList(generate));
        fleet.addAll(List.of("--fleet", "--expert-shards", "2", "--attention-instances", "2", "--kv-members", "1",
                "--service-threads", "1"));
        FleetCli.Result viaFleet = cli(null, fleet.toArray(String[]::new));
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
        FleetCli.Result result = cli(badFlags, "generate", "--model", tiny.toString(), "--tokens", "1,2", "--max-tokens", "2",
                "--fleet", "--expert-shards", "2", "--kv-members", "1", "--service-threads", "1");
        assertEquals(1, result.code(), result.err());
        assertTrue(result.err().matches("(?s).*fleet generate: (kv|expert|attention)-\\d exited with code 1 during start-up "
                + "\\(log: \\S+\\.log\\).*"), result.err());
        assertTrue(result.err().contains("NoSuchFleetOption"), "the end of the log is shown: " + result.err());
        assertNoServiceProcessLeft(result);
    }

    @Test
    void contradictoryOrMisplacedFlagsAreUsageErrors() throws Exception {
        FleetCli.Result both = cli(null, "generate", "--model", tiny.toString(), "--tokens", "1", "--fleet",
                "--expert-shards", "2", "--experts-per-shard", "4");
        assertEquals(2, both.code(), both.err());
        assertTrue(both.err().contains("give exactly one of --expert-shards N, --experts-per-shard K"), both.err());

        FleetCli.Result withoutFleet = cli(null, "generate", "--model", tiny.toString(), "--tokens", "1", "--kv-members", "3");
        assertEquals(2, withoutFleet.code(), withoutFleet.err());
        assertTrue(withoutFleet.err().contains("--kv-members goes with --fleet"), withoutFleet.err());
        assertFalse(withoutFleet.err().contains("serving after"), withoutFleet.err());
    }

    private static FleetCli.Result cli(String serviceFlags, String... argv) throws Exception {
        return FleetCli.run(dir, serviceFlags, argv);
    }

    private static void assertNoServiceProcessLeft(FleetCli.Result run) {
        FleetCli.assertNoServiceProcessLeft(run.pid(), tiny);
    }
}
