package io.moefleet.cli;

import static io.moefleet.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./fleet bench --fleet} on the tiny checkpoint with small counts: the JSON line has every figure, each sane
 * (positive, p99 at least p50, bytes per layer per step); the figures themselves are the machine's, never asserted.
 */
@Timeout(240)   // a hang fails the test rather than stalling the build
class FleetBenchCommandTest {

    @TempDir
    static Path dir;

    private static Path tiny;

    @BeforeAll
    static void makeCheckpoint() throws IOException {
        tiny = dir.resolve("tiny");
        CheckpointWriter.write(Preset.config("tiny"), 11, WeightFormat.BF16, tiny);
    }

    @Test
    void fleetBenchPrintsATableThenSaneFiguresForEveryBatchAsJson() throws IOException {
        CliRun r = run("bench", "--model", tiny.toString(), "--fleet", "--batch", "1,3", "--warm-up-steps", "2", "--steps", "3", "--floor-calls", "40",
                "--rounds", "2", "--threads", "1", "--expert-shards", "2", "--kv-members", "1", "--service-threads", "1", "--json");
        assertEquals(0, r.code(), r.err());
        // engine and fleet rows alternated round by round, each round's four fleet rows set against its engine row
        for (int batch : new int[] {1, 3}) {
            for (int round = 1; round <= 2; round++) {
                String prefix = "round " + round + ", batch " + batch + ": engine ";
                String line = r.err().lines().filter(l -> l.startsWith(prefix)).findFirst().orElse(null);
                assertTrue(line != null, prefix + "... in " + r.err());
                assertEquals(4, line.substring(line.indexOf("fleet/engine ") + "fleet/engine ".length()).split(", ").length, line);
            }
        }
        String[] lines = r.out().strip().split("\n");
        assertTrue(lines[0].startsWith("decode with 1 router/engine thread(s); fleet: 2 expert shard(s)"), r.out());
        JsonNode json = new ObjectMapper().readTree(lines[lines.length - 1]);

        ModelConfig config = ModelConfig.read(tiny.resolve("config.json"));
        int hidden = config.hiddenSize();
        int topK = config.numExpertsPerTok();
        // per batch size, whole steps then two micro-batches, then mirrored: each setting once early and once late
        List<int[]> rows = List.of(new int[] {1, 1}, new int[] {1, 2}, new int[] {1, 2}, new int[] {1, 1},
                new int[] {3, 1}, new int[] {3, 2}, new int[] {3, 2}, new int[] {3, 1});
        assertEquals(rows.size(), json.get("batches").size(), json.toString());
        for (int i = 0; i < rows.size(); i++) {
            JsonNode b = json.get("batches").get(i);
            int batch = rows.get(i)[0];
            int microBatches = rows.get(i)[1];
            assertEquals(batch, b.get("batch").asInt());
            assertEquals(microBatches, b.get("micro_batches").asInt());
            for (String figure : List.of("engine_tokens_per_s", "fleet_tokens_per_s", "ratio")) {
                assertTrue(b.get(figure).asDouble() > 0, figure + " in " + b);
            }
            for (String share : List.of("experts_hidden_share", "attention_hidden_share")) {
                assertTrue(b.get(share).asDouble() >= 0 && b.get(share).asDouble() < 1, share + " in " + b);
            }
            assertPercentiles(b, "dispatch_combine");
            assertPercentiles(b, "attention_call");
            assertPercentiles(b, "socket_echo");
            JsonNode bytes = b.get("bytes_per_layer");
            // per layer call, not summed over the run: a decode step's attention rows are its batch's hidden states, in
            // one call per layer, or two calls of half the batch each (a batch of one is never split)
            int callsPerLayer = batch >= 2 ? microBatches : 1;
            assertEquals((double) batch * hidden * Float.BYTES, callsPerLayer * bytes.get("attention_sent").asDouble(), b.toString());
            assertEquals((double) batch * hidden * Float.BYTES, callsPerLayer * bytes.get("attention_received").asDouble(), b.toString());
            // each token's row goes to every shard holding one of its experts; the shards answer one row per chosen expert
            assertTrue(callsPerLayer * bytes.get("experts_sent").asDouble() > batch * hidden * Float.BYTES, b.toString());
            assertTrue(callsPerLayer * bytes.get("experts_received").asDouble() > (double) batch * topK * hidden * Float.BYTES,
                    b.toString());
        }
        JsonNode floors = json.get("floors");
        assertPercentiles(floors, "empty_grpc");
        assertPercentiles(floors, "socket_echo");
        assertEquals(json.get("batches").get(4).get("bytes_per_layer").get("experts_sent").asLong(),
                floors.get("socket_echo_bytes").asLong(), "the echo carries the largest dispatch's bytes: the largest batch whole");
    }

    @Test
    void fleetOnlyOptionsAndABadSamplingRatioAreUsageErrors() {
        CliRun steps = run("bench", "--model", tiny.toString(), "--steps", "3");
        assertEquals(2, steps.code(), steps.err());
        assertTrue(steps.err().contains("--steps goes with --fleet"), steps.err());

        CliRun sampling = run("bench", "--model", tiny.toString(), "--fleet", "--expert-shards", "2", "--trace-sampling", "1.5");
        assertEquals(2, sampling.code(), sampling.err());
        assertTrue(sampling.err().contains("--trace-sampling must be a ratio from 0 to 1, got '1.5'"), sampling.err());

        CliRun batches = run("bench", "--model", tiny.toString(), "--fleet", "--expert-shards", "2", "--batch", "1,0");
        assertEquals(2, batches.code(), batches.err());
        assertTrue(batches.err().contains("--batch must be comma-separated batch sizes of at least 1"), batches.err());
    }

    private static void assertPercentiles(JsonNode node, String name) {
        double p50 = node.get(name + "_p50_us").asDouble();
        double p99 = node.get(name + "_p99_us").asDouble();
        assertTrue(p50 > 0 && p99 >= p50, name + " p50 " + p50 + ", p99 " + p99 + " in " + node);
    }
}
