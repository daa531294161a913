package io.moefleet.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.engine.Engine;
import io.moefleet.model.SameBits;
import io.moefleet.model.GoldenData;
import io.moefleet.model.KnifeEdges;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.rpc.ListenPorts;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An attention instance as a real process ({@link AttentionServiceMain} in a JVM of its own), started as a launcher would
 * start it, with a KV pool member in this JVM.
 */
@Timeout(120)   // a hang fails the test rather than stalling the build
class AttentionProcessTest {

    private static final Path LOGS = Path.of("target", "attention-logs");

    @Test
    void anInstanceProcessServesWhatTheEngineComputes() throws Exception {
        GoldenData.Case golden = GoldenData.forwardCase("tiny-v3");
        int port = ListenPorts.take();
        PoolMembers pool = PoolMembers.start(1);
        Process instance = start("instance-0", "--model", golden.model().toString(), "--port", Integer.toString(port),
                "--threads", "1", "--kv-pool", pool.addresses.getFirst(), "--kv-cluster-name", pool.clusterName,
                "--kv-page-tokens", "8", "--kv-hot-memory", "0");
        try {
            float[][] expected;
            try (Engine engine = Engine.open(golden.model(), ModelWeights.LoadProgress.NONE)) {
                expected = engine.logits(golden.inputIds());
            }
            try (Checkpoint checkpoint = Checkpoint.open(golden.model());
                 Workers workers = new Workers(1);
                 RemoteAttention attention = new RemoteAttention(checkpoint.config(), List.of("127.0.0.1:" + port),
                         new RoundRobinAssignment(), Duration.ofSeconds(10), OpenTelemetry.noop())) {
                attention.awaitServing(Duration.ofSeconds(30));
                Transformer model = new Transformer(checkpoint.config(), ModelWeights.load(checkpoint), workers, attention, null);

                float[][] logits = model.step(List.of(new StepChunk(model.newSequence(), 0, golden.inputIds(), true))).getFirst();
                SameBits.assertRows(expected, logits, "logits over an attention process against the engine's");
                assertArrayEquals(golden.greedy(), KnifeEdges.greedy(model, golden.prompt(), golden.greedy().length).greedy());
                InstanceStats stats = attention.stats().getFirst();
                assertEquals(2, stats.sequencesStarted());
                assertTrue(stats.calls() > 0 && stats.tokenRows() > 0, "the instance served nothing: " + stats);

                // the pool flags reached the instance: a second run of the golden pass restores its pages from the pool
                PagedRequests.awaitPublished(attention);
                Sequence again = model.newSequence();
                int cached = attention.admit(again, golden.inputIds());
                float[][] rest = model.step(List.of(new StepChunk(again, cached, Arrays.copyOfRange(golden.inputIds(), cached,
                        golden.inputIds().length), true))).getFirst();
                InstancePageStats pages = attention.stats().getFirst().pages();
                assertEquals(8, pages.pageTokens());
                assertEquals((golden.inputIds().length - 2) / 8 * 8, cached, pages.toString());
                assertEquals(cached / 8, pages.poolPagesFetched());
                assertArrayEquals(logits[logits.length - 1], rest[rest.length - 1], "the last token's logits, bitwise");
            }
            instance.destroy();   // SIGTERM: the shutdown hook stops the server
            assertTrue(instance.waitFor(10, TimeUnit.SECONDS), "the instance process did not stop on SIGTERM");
        } finally {
            instance.destroyForcibly();
            pool.close();
        }
    }

    @Test
    void poolFlagsWithoutAPoolStopTheProcessWithTheReason() throws Exception {
        Process instance = start("pool-flags", "--model", GoldenData.checkpoint("tiny-v3").toString(), "--port", "0",
                "--kv-page-tokens", "16");
        try {
            assertTrue(instance.waitFor(30, TimeUnit.SECONDS), "the process did not stop");
            assertEquals(2, instance.exitValue());
            String log = Files.readString(LOGS.resolve("pool-flags.log"));
            assertTrue(log.contains("attention-service: --kv-page-tokens needs --kv-pool"), log);
        } finally {
            instance.destroyForcibly();
        }
    }

    @Test
    void badFlagsStopTheProcessWithTheReason() throws Exception {
        Process instance = start("bad-flags", "--model", GoldenData.checkpoint("tiny-v3").toString(), "--port", "0", "--shard", "1");
        try {
            assertTrue(instance.waitFor(30, TimeUnit.SECONDS), "the process did not stop");
            assertEquals(2, instance.exitValue());
            String log = Files.readString(LOGS.resolve("bad-flags.log"));
            assertTrue(log.contains("attention-service: unknown option '--shard'"), log);
            assertTrue(log.contains("usage: attention-service --model DIR --port P [--threads T]"), log);
        } finally {
            instance.destroyForcibly();
        }
    }

    /**
     * {@code AttentionServiceMain} in a JVM of its own: this JVM's java and class path, the fleet's and Hazelcast's JVM
     * flags (an instance is a client of the pool); output to a log file.
     */
    private static Process start(String name, String... args) throws IOException {
        String flags = System.getProperty("fleet.jvm.flags") + " " + System.getProperty("hazelcast.jvm.flags");
        assertTrue(!flags.contains("null") && !flags.isBlank(), "the build passes the fleet's and Hazelcast's JVM flags to the tests");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(Arrays.asList(flags.trim().split("\\s+")));
        command.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path"), AttentionServiceMain.class.getName()));
        command.addAll(Arrays.asList(args));
        Files.createDirectories(LOGS);
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(LOGS.resolve(name + ".log").toFile())
                .start();
    }
}
