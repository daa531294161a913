package io.moefleet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./fleet bench --api} on the tiny checkpoint with small counts: a row and a JSON entry per concurrency level,
 * every figure sane (positive, p99 at least p50); the figures themselves are the machine's, never asserted.
 */
@Timeout(120)
class ApiBenchCommandTest {

    @TempDir
    Path dir;

    @Test
    void apiBenchReportsThroughputAndLatenciesPerConcurrencyLevel() throws Exception {
        Path tiny = dir.resolve("tiny");
        CheckpointWriter.write(Preset.config("tiny"), 11, WeightFormat.BF16, tiny);
        CliRun r = CliRun.run("bench", "--model", tiny.toString(), "--api", "--single-process", "--concurrency", "1,3",
                "--prompt-tokens", "12", "--output-tokens", "5", "--warm-up-s", "1", "--warm-up-max-s", "3", "--measure-s", "1",
                "--threads", "1", "--json");
        String printed = r.out();
        assertEquals(0, r.code(), r.err());
        JsonNode json = lastLineJson(printed);
        assertEquals("single-process", json.get("mode").asText());
        assertLevels(json.get("levels"), List.of(1, 3));
        // warmed for its least second, then on in steps of the measured second while the rate rose, within the most
        for (JsonNode level : json.get("levels")) {
            double warmUp = level.get("warm_up_s").asDouble();
            assertTrue(warmUp >= 1 && warmUp < 4, level.toString());
        }
        assertTrue(r.err().contains("warmed up (not counted) for at least 1 s, then on in steps of 1 s"), r.err());
        assertTrue(printed.contains("concurrency"), printed);
    }

    @Test
    void apiBenchSetsTheFleetBesideTheEngineInOneRun() throws Exception {
        Path tiny = dir.resolve("tiny-fleet");
        CheckpointWriter.write(Preset.config("tiny"), 11, WeightFormat.BF16, tiny);
        CliRun r = CliRun.run("bench", "--model", tiny.toString(), "--api", "--expert-shards", "2", "--kv-members", "1",
                "--service-threads", "1", "--beside-single-process", "--micro-batches", "1,2", "--concurrency", "2",
                "--prompt-tokens", "12", "--output-tokens", "4", "--warm-up-s", "0", "--measure-s", "0", "--threads", "1", "--json");
        String printed = r.out();
        assertEquals(0, r.code(), r.err());
        JsonNode json = lastLineJson(printed);
        assertEquals("fleet", json.get("mode").asText());
        // each micro-batch count in turn on the same fleet
        assertLevels(json.get("levels"), List.of(2, 2));
        assertEquals(List.of(1, 2), json.get("levels").findValues("micro_batches").stream().map(JsonNode::asInt).toList());
        assertLevels(json.get("single_process").get("levels"), List.of(2));
        assertTrue(printed.contains("fleet: 12-token prompts") && printed.contains("single process: 12-token prompts"), printed);
        // the ratio row: the fleet's output rate and TTFT as multiples of the engine's
        for (int microBatches = 1; microBatches <= 2; microBatches++) {
            String ratioRow = "\\s+2\\s+" + microBatches + "\\s+\\d+\\.\\d\\dx\\s+\\d+\\.\\d\\dx";
            assertTrue(printed.lines().anyMatch(line -> line.matches(ratioRow)), printed);
        }

        CliRun refused = CliRun.run("bench", "--model", tiny.toString(), "--api", "--single-process", "--beside-single-process");
        assertEquals(2, refused.code());
        assertTrue(refused.err().contains("--beside-single-process goes with a fleet's placement flags"), refused.err());
    }

    /** The JSON line a {@code --json} bench prints last. */
    private static JsonNode lastLineJson(String printed) throws Exception {
        String[] lines = printed.strip().split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }

    /** One entry per level, in order, each with at least one request and sane figures (positive, p99 at least p50). */
    private static void assertLevels(JsonNode levels, List<Integer> concurrency) {
        assertEquals(concurrency, levels.findValues("concurrency").stream().map(JsonNode::asInt).toList());
        for (JsonNode level : levels) {
            assertTrue(level.get("requests").asInt() >= level.get("concurrency").asInt(), level.toString());
            assertTrue(level.get("output_tokens_per_s").asDouble() > 0, level.toString());
            assertTrue(level.get("ttft_p50_ms").asDouble() > 0, level.toString());
            assertTrue(level.get("ttft_p99_ms").asDouble() >= level.get("ttft_p50_ms").asDouble(), level.toString());
            assertTrue(level.get("tpot_p99_ms").asDouble() >= level.get("tpot_p50_ms").asDouble(), level.toString());
        }
    }

    @Test
    void soakReportsEachIntervalAndTheLiveHeapOfEveryProcess() throws Exception {
        Path tiny = dir.resolve("tiny-soak");
        CheckpointWriter.write(Preset.config("tiny"), 11, WeightFormat.BF16, tiny);
        CliRun r = CliRun.run("bench", "--model", tiny.toString(), "--soak", "--single-process", "--concurrency", "4",
                "--minutes", "0.1", "--report-every-s", "2", "--prompt-tokens", "12", "--output-tokens", "5", "--threads", "1");
        String printed = r.out();
        assertEquals(0, r.code(), r.err() + printed);
        List<String> intervals = printed.lines().filter(line -> line.matches("\\s+\\d+\\.\\d+\\s+\\d+\\s+0\\s+.*")).toList();
        assertTrue(intervals.size() >= 2, "an interval line every 2 s, no errors: " + printed);
        assertTrue(printed.matches("(?s).*soak: \\d+ requests, 0 errors; live heap .*: router \\d+ -> \\d+ -> \\d+.*"), printed);
        assertTrue(printed.lines().anyMatch(line -> line.matches("\\s+live heap: router \\d+ MiB")), "a heap line per interval: " + printed);
        assertTrue(printed.lines().anyMatch(line -> line.startsWith("soak: every heap steady over the second half")
                || line.startsWith("soak: heaps still growing over the second half: router +")), "the verdict on the heaps: " + printed);
    }
}
