package io.moefleet.cli.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.expert.ExpertPlacement;
import io.moefleet.expert.RemoteExperts;
import io.moefleet.model.ModelConfig;
import io.moefleet.rpc.TlsFiles;
import io.opentelemetry.api.OpenTelemetry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fleet over mutual TLS with certificates {@code ./fleet certs} makes here: {@code generate --fleet --tls-dir} gives
 * the engine's tokens, every service says it serves TLS, and a shard of such a fleet refuses a plaintext router and logs
 * the refused peer.
 */
@Timeout(240)   // a hang fails the test rather than stalling the build
class FleetTlsTest {

    @TempDir
    static Path dir;

    private static Path tiny;
    private static Path certs;

    @BeforeAll
    static void makeCheckpointAndCertificates() throws Exception {
        tiny = dir.resolve("tiny");
        CheckpointWriter.write(Preset.config("tiny"), 17, WeightFormat.BF16, tiny);
        certs = dir.resolve("certs");
        FleetCli.Result made = FleetCli.run(dir, null, "certs", "--out", certs.toString());
        assertEquals(0, made.code(), made.err());
        List<String> expected = new ArrayList<>(List.of(certs.resolve("ca.crt").toString()));
        for (String role : TlsFiles.ROLES) {
            expected.add(certs.resolve(role + ".crt").toString());
            expected.add(certs.resolve(role + ".key").toString());
        }
        assertEquals(expected, made.out().lines().toList(), "certs prints the files it wrote");
    }

    @Test
    void aFleetOverMutualTlsGivesTheEnginesTokens() throws Exception {
        String[] generate = {"generate", "--model", tiny.toString(), "--tokens", "9,4,33,2", "--max-tokens", "6", "--threads", "1"};
        FleetCli.Result engine = FleetCli.run(dir, null, generate);
        assertEquals(0, engine.code(), engine.err());

        List<String> fleet = new ArrayList<>(Arrays.asList(generate));
        fleet.addAll(List.of("--fleet", "--expert-shards", "2", "--kv-members", "1", "--service-threads", "1",
                "--tls-dir", certs.toString()));
        FleetCli.Result viaFleet = FleetCli.run(dir, null, fleet.toArray(String[]::new));
        assertEquals(0, viaFleet.code(), viaFleet.err());
        assertEquals(engine.out(), viaFleet.out());
        assertEquals(6, viaFleet.out().trim().split(" ").length, viaFleet.out());

        // the services did serve TLS: each one's log says so
        Path logs = Path.of(viaFleet.err().lines().filter(line -> line.startsWith("fleet: service logs in "))
                .findFirst().orElseThrow().substring("fleet: service logs in ".length()));
        for (String service : List.of("expert-0", "expert-1", "attention-0")) {
            String log = Files.readString(logs.resolve(service + ".log"));
            assertTrue(log.contains(": mutual TLS on port "), service + ": " + log);
        }
        FleetCli.assertNoServiceProcessLeft(viaFleet.pid(), tiny);
    }

    @Test
    void aShardOfATlsFleetRefusesAPlaintextRouterAndLogsIt() throws IOException {
        ModelConfig config = ModelConfig.read(tiny.resolve("config.json"));
        ExpertPlacement placement = ExpertPlacement.spread(config.nRoutedExperts(), 1, 1);
        FleetLayout layout = new FleetLayout(tiny, placement, 1, 1, 1, 1, 16, certs);
        Path logs = dir.resolve("refusal-logs");
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        try (FleetProcesses fleet = FleetProcesses.start(layout, logs, java.util.Map.of(),
                new PrintStream(progress, true, StandardCharsets.UTF_8))) {
            // what the fleet's own health wait did with the router's certificate, a plaintext client cannot
            try (RemoteExperts plaintext = new RemoteExperts(config, placement, fleet.expertAddresses(), Duration.ofSeconds(5),
                    OpenTelemetry.noop())) {
                RuntimeException refused = assertThrows(RuntimeException.class, () -> plaintext.awaitServing(Duration.ofSeconds(5)));
                assertTrue(refused.getMessage().contains(fleet.expertAddresses().getFirst()), refused.getMessage());
            }
            String port = fleet.expertAddresses().getFirst().substring(fleet.expertAddresses().getFirst().lastIndexOf(':') + 1);
            assertTrue(waitForLog(logs.resolve("expert-0.log"), "expert shard 0: refused a connection from /127.0.0.1:",
                    "the client spoke plaintext, not TLS"), "the shard (port " + port + ") logs the refused peer");
        }
    }

    /** Whether {@code log} gets a line with all of {@code parts} within 10 s (the shard logs on its own). */
    private static boolean waitForLog(Path log, String... parts) throws IOException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < end) {
            try (Stream<String> lines = Files.lines(log)) {
                if (lines.anyMatch(line -> Arrays.stream(parts).allMatch(line::contains))) {
                    return true;
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }
}
