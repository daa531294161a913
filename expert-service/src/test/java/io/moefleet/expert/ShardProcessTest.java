package io.moefleet.expert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.engine.Engine;
import io.moefleet.model.GoldenData;
import io.moefleet.model.KnifeEdges;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.ModelWeights;
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

/** Shards as real processes ({@link ExpertServiceMain} in JVMs of their own), started as a launcher would start them. */
@Timeout(120)   // a hang fails the test rather than stalling the build
class ShardProcessTest {

    private static final Path LOGS = Path.of("target", "shard-logs");

    @Test
    void shardProcessesServeWhatTheEngineComputes() throws Exception {
        GoldenData.Case golden = GoldenData.forwardCase("tiny-v3");
        List<Process> shards = new ArrayList<>();
        List<String> addresses = new ArrayList<>();
        try {
            for (int s = 0; s < 2; s++) {
                int port = ShardFailureTest.freePort();
                shards.add(start("shard-" + s, "--model", golden.model().toString(), "--port", Integer.toString(port),
                        "--shard", Integer.toString(s), "--expert-shards", "2", "--threads", "1"));
                addresses.add("127.0.0.1:" + port);
            }
            float[][] expected;
            try (Engine engine = Engine.open(golden.model(), ModelWeights.LoadProgress.NONE)) {
                expected = engine.logits(golden.inputIds());
            }
            try (Checkpoint checkpoint = Checkpoint.open(golden.model());
                 Workers workers = new Workers(1);
                 RemoteExperts experts = new RemoteExperts(checkpoint.config(), ExpertPlacement.spread(16, 2, 1), addresses,
                         Duration.ofSeconds(10), OpenTelemetry.noop())) {
                experts.awaitServing(Duration.ofSeconds(30));
                Transformer model = new Transformer(checkpoint.config(), ModelWeights.load(checkpoint), workers, null, experts);

                float[][] logits = model.step(List.of(new StepChunk(model.newSequence(), 0, golden.inputIds(), true))).getFirst();
                double worst = FleetGoldenTest.maxDifference(expected, logits);
                assertTrue(worst < 1e-5, "max |logit difference| " + worst);
                assertArrayEquals(golden.greedy(), KnifeEdges.greedy(model, golden.prompt(), golden.greedy().length).greedy());
                for (ShardStats stats : experts.stats()) {
                    assertTrue(stats.calls() > 0 && stats.tokens() > 0, "shard " + stats.shard() + " served nothing");
                }
            }
            for (Process shard : shards) {
                shard.destroy();   // SIGTERM: the shutdown hook stops the server
                assertTrue(shard.waitFor(10, TimeUnit.SECONDS), "a shard process did not stop on SIGTERM");
            }
        } finally {
            shards.forEach(Process::destroyForcibly);
        }
    }

    @Test
    void badFlagsStopTheProcessWithTheReason() throws Exception {
        Process shard = start("bad-flags", "--model", GoldenData.checkpoint("tiny-v3").toString(), "--port", "0", "--shard", "0",
                "--expert-shards", "2", "--experts-per-shard", "4");
        try {
            assertTrue(shard.waitFor(30, TimeUnit.SECONDS), "the process did not stop");
            assertEquals(2, shard.exitValue());
            String log = Files.readString(LOGS.resolve("bad-flags.log"));
            assertTrue(log.contains("expert-service: give exactly one of --expert-shards N, --experts-per-shard K or --placement FILE "
                    + "(got --expert-shards, --experts-per-shard)"), log);
        } finally {
            shard.destroyForcibly();
        }
    }

    @Test
    void aShardThatCannotLoadItsCheckpointStaysUpAndSaysWhyWhenAskedToReport() throws Exception {
        Path empty = Files.createTempDirectory("no-checkpoint");
        int port = ShardFailureTest.freePort();
        Process shard = start("no-checkpoint", "--model", empty.toString(), "--port", Integer.toString(port), "--shard", "0",
                "--expert-shards", "2", "--on-load-failure", "report");
        io.grpc.ManagedChannel channel = io.grpc.Grpc.newChannelBuilder("127.0.0.1:" + port,
                io.grpc.InsecureChannelCredentials.create()).build();
        try {
            var health = io.grpc.health.v1.HealthGrpc.newBlockingStub(channel);
            // the server as a whole is alive (a liveness probe passes) ...
            io.grpc.health.v1.HealthCheckResponse.ServingStatus server = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (server == null) {
                try {
                    server = health.withDeadlineAfter(2, TimeUnit.SECONDS)
                            .check(io.grpc.health.v1.HealthCheckRequest.newBuilder().setService("").build()).getStatus();
                } catch (io.grpc.StatusRuntimeException e) {
                    assertTrue(shard.isAlive(), "the shard exited: " + Files.readString(LOGS.resolve("no-checkpoint.log")));
                    assertTrue(System.nanoTime() < deadline, "the shard never listened: " + e.getStatus());
                    Thread.sleep(100);
                }
            }
            assertEquals(io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING, server);
            // ... its service is not (a readiness probe fails), and every call says why
            assertEquals(io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING, health.check(
                    io.grpc.health.v1.HealthCheckRequest.newBuilder().setService(
                            io.moefleet.proto.expert.ExpertServiceGrpc.SERVICE_NAME).build()).getStatus());
            io.grpc.StatusRuntimeException call = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
                    () -> io.moefleet.proto.expert.ExpertServiceGrpc.newBlockingStub(channel)
                            .stats(io.moefleet.proto.expert.StatsRequest.getDefaultInstance()));
            assertEquals(io.grpc.Status.Code.FAILED_PRECONDITION, call.getStatus().getCode());
            assertTrue(call.getStatus().getDescription().contains("config.json"), call.getStatus().getDescription());
            String log = Files.readString(LOGS.resolve("no-checkpoint.log"));
            assertTrue(log.contains("expert-service could not start") && log.contains("config.json"), log);
        } finally {
            channel.shutdownNow();
            shard.destroyForcibly();
        }
    }

    /** {@code ExpertServiceMain} in a JVM of its own: this JVM's java and class path, the fleet's JVM flags; output to a log file. */
    private static Process start(String name, String... args) throws IOException {
        String flags = System.getProperty("fleet.jvm.flags");
        assertTrue(flags != null && !flags.isBlank(), "the build passes the root pom's fleet.jvm.flags to the tests");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(Arrays.asList(flags.trim().split("\\s+")));
        command.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path"), ExpertServiceMain.class.getName()));
        command.addAll(Arrays.asList(args));
        Files.createDirectories(LOGS);
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(LOGS.resolve(name + ".log").toFile())
                .start();
    }
}
