package io.moefleet.expert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.moefleet.engine.Engine;
import io.moefleet.model.SameBits;
import io.moefleet.model.GoldenData;
import io.moefleet.model.KnifeEdges;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.proto.expert.ExpertServiceGrpc;
import io.moefleet.proto.expert.ForwardRequest;
import io.moefleet.rpc.ListenPorts;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

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
                int port = ListenPorts.take();
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
                SameBits.assertRows(expected, logits, "logits over two shard processes against the engine's");
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
    void aTlsFolderWithoutTheShardsKeyStopsTheProcessNamingTheFileEvenWhenAskedToReport(@TempDir Path folder) throws Exception {
        io.moefleet.rpc.CertificateAuthority ca = io.moefleet.rpc.CertificateAuthority.create("test CA", java.time.Duration.ofDays(1));
        ca.writeCertificate(folder.resolve("ca.crt"));
        ca.issue("expert", List.of("localhost"), List.of("127.0.0.1"), java.time.Duration.ofDays(1))
                .write(folder.resolve("expert.crt"), folder.resolve("router.key"));   // the key under another role's name
        // reporting would mean listening: a shard told to use TLS never listens in plaintext instead
        Process shard = start("bad-tls", "--model", GoldenData.checkpoint("tiny-v3").toString(), "--port", "0", "--shard", "0",
                "--expert-shards", "2", "--tls-dir", folder.toString(), "--on-load-failure", "report");
        try {
            assertTrue(shard.waitFor(30, TimeUnit.SECONDS), "the process did not stop");
            assertEquals(1, shard.exitValue());
            String log = Files.readString(LOGS.resolve("bad-tls.log"));
            assertTrue(log.contains("expert-service: missing " + folder.resolve("expert.key")), log);
        } finally {
            shard.destroyForcibly();
        }
    }

    @Test
    void aShardThatCannotLoadItsCheckpointStaysUpAndSaysWhyWhenAskedToReport() throws Exception {
        Path empty = Files.createTempDirectory("no-checkpoint");
        int port = ListenPorts.take();
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

    @Test
    void aShardBeyondItsPlacementFileServesNothingUntilTheRolloutGivesItExperts(@TempDir Path folder) throws Exception {
        Files.writeString(folder.resolve("placement.json"), ExpertPlacement.spread(16, 2, 1).toJson());
        int port = ListenPorts.take();
        Process process = start("added-shard", "--model", GoldenData.checkpoint("tiny-k2").toString(), "--port", Integer.toString(port),
                "--shard", "2", "--placement", folder.resolve("placement.json").toString(), "--threads", "1");
        ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + port, InsecureChannelCredentials.create()).build();
        try (ExpertServer reference = new ExpertServer(new ShardSettings(GoldenData.checkpoint("tiny-k2"),
                ExpertPlacement.spread(16, 1, 1), 0, 0, 1), OpenTelemetry.noop()).start()) {
            awaitServing(channel, process, "added-shard");
            ExpertServiceGrpc.ExpertServiceBlockingStub shard = ExpertServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(30, TimeUnit.SECONDS);
            assertEquals(List.of(), LivePlacementTest.held(LivePlacementTest.stats(shard)), "shard 2 of 2 holds nothing yet");
            LivePlacementTest.assertRefused(shard, LivePlacementTest.request(1, new int[][] {{15}}),
                    "shard 2 does not hold layer 1 expert 15");

            // scaling up to 3 shards: the rollout gives shard 2 its part of the next placement, 10..15
            Path staged = Files.writeString(folder.resolve(".rollout.json.new"),
                    Rollout.of(ExpertPlacement.spread(16, 3, 1), 3).toJson());
            Files.move(staged, folder.resolve("rollout.json"), StandardCopyOption.ATOMIC_MOVE);
            LivePlacementTest.awaitHeld(shard, LivePlacementTest.held(LivePlacementTest.range(10, 16), LivePlacementTest.range(10, 16)));
            ForwardRequest request = LivePlacementTest.request(2, new int[][] {{15, 10}, {11}});
            ManagedChannel toReference = Grpc.newChannelBuilder("127.0.0.1:" + reference.port(), InsecureChannelCredentials.create()).build();
            try {
                assertEquals(ExpertServiceGrpc.newBlockingStub(toReference).withDeadlineAfter(30, TimeUnit.SECONDS).forward(request)
                        .getExpertOutputs(), shard.forward(request).getExpertOutputs());
            } finally {
                toReference.shutdownNow();
            }
            process.destroy();
            assertTrue(process.waitFor(10, TimeUnit.SECONDS), "the shard process did not stop on SIGTERM");
        } finally {
            channel.shutdownNow();
            process.destroyForcibly();
        }
    }

    /** Waits until the shard process reports SERVING for its service (it listens before it loads). */
    private static void awaitServing(ManagedChannel channel, Process process, String name) throws Exception {
        HealthCheckRequest expertService = HealthCheckRequest.newBuilder().setService(ExpertServiceGrpc.SERVICE_NAME).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                if (HealthGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS).check(expertService).getStatus()
                        == HealthCheckResponse.ServingStatus.SERVING) {
                    return;
                }
            } catch (StatusRuntimeException e) {
                // not listening yet
            }
            assertTrue(process.isAlive(), "the shard exited: " + Files.readString(LOGS.resolve(name + ".log")));
            assertTrue(System.nanoTime() < deadline, "the shard did not serve within 60 s: " + Files.readString(LOGS.resolve(name + ".log")));
            Thread.sleep(100);
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
