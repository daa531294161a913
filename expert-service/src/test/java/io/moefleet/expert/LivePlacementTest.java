package io.moefleet.expert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.moefleet.expert.impl.PlacementFolderWatch;
import io.moefleet.model.GoldenData;
import io.moefleet.proto.expert.ExpertServiceGrpc;
import io.moefleet.proto.expert.ForwardRequest;
import io.moefleet.proto.expert.StatsRequest;
import io.moefleet.proto.expert.StatsResponse;
import io.moefleet.proto.expert.TokenExperts;
import io.moefleet.rpc.FloatRows;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A shard of tiny-k2 (16 routed experts, MoE layers 1 and 2) started with {@code --placement} in a folder, changing
 * the experts it holds as the folder changes while it serves; a shard holding every expert from the start is the
 * reference for the sums.
 */
@Timeout(60)   // a hang fails the test rather than stalling the build
class LivePlacementTest {

    private static final Path MODEL = GoldenData.checkpoint("tiny-k2");
    /** The watch looks every second; this bounds a change taking effect, far above what it takes. */
    private static final long CHANGE_WITHIN_MS = 15_000;
    /** Kept here: java.util.logging holds loggers weakly, and the handler must outlive the test's statements. */
    private static final Logger WATCH_LOG = Logger.getLogger(PlacementFolderWatch.class.getName());

    @TempDir
    Path folder;
    private final List<AutoCloseable> open = new ArrayList<>();
    private ExpertServiceGrpc.ExpertServiceBlockingStub reference;

    @BeforeEach
    void startReference() throws IOException {
        reference = stub(new ExpertServer(new ShardSettings(MODEL, ExpertPlacement.spread(16, 1, 1), 0, 0, 1), OpenTelemetry.noop()).start());
    }

    @AfterEach
    void stopAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    @Test
    void rolledOutExpertsServeAsFromTheStartAndDroppedOnesAreRefused() throws Exception {
        write("placement.json", ExpertPlacement.spread(16, 2, 1).toJson());   // shard 0: 0..7
        ExpertServiceGrpc.ExpertServiceBlockingStub shard = startShard(0);
        assertEquals(held(range(0, 8), range(0, 8)), held(stats(shard)));
        shard.forward(request(1, new int[][] {{3}, {3, 5}}));
        assertEquals(2, tokensOf(stats(shard), 1, 3));

        // the next placement's part for shard 0: 8 and 9, in layer 2 only 12
        SortedMap<Integer, List<List<Integer>>> layer2 = new TreeMap<>(Map.of(2, List.of(List.of(12), without(12))));
        ExpertPlacement next = ExpertPlacement.of(16, List.of(List.of(8, 9), without(8, 9)), layer2);
        write("rollout.json", Rollout.of(next, 1).toJson());
        awaitHeld(shard, held(range(0, 10), List.of(0, 1, 2, 3, 4, 5, 6, 7, 12)));
        assertEquals(2, tokensOf(stats(shard), 1, 3), "an expert that stays held keeps its count");

        ForwardRequest newlyHeld = request(1, new int[][] {{9}, {3, 8, 9}, {1}});
        assertEquals(reference.forward(newlyHeld).getExpertOutputs(), shard.forward(newlyHeld).getExpertOutputs(),
                "layer 1, experts 8 and 9 mapped while serving: bit for bit what a shard holding them from the start gives");
        ForwardRequest layer2Held = request(2, new int[][] {{12, 0}, {12}});
        assertEquals(reference.forward(layer2Held).getExpertOutputs(), shard.forward(layer2Held).getExpertOutputs(), "layer 2");

        // the switch: shard 0 now holds 8..15 alone, the rollout is over
        write("placement.json", ExpertPlacement.of(16, List.of(range(8, 16), range(0, 8)), new TreeMap<>()).toJson());
        write("rollout.json", "");
        awaitHeld(shard, held(range(8, 16), range(8, 16)));
        assertRefused(shard, request(1, new int[][] {{9}, {3}}), "shard 0 does not hold layer 1 expert 3");
        assertRefused(shard, request(2, new int[][] {{0}}), "shard 0 does not hold layer 2 expert 0");
        ForwardRequest stillHeld = request(2, new int[][] {{12, 15}, {8}});
        assertEquals(reference.forward(stillHeld).getExpertOutputs(), shard.forward(stillHeld).getExpertOutputs());
    }

    @Test
    void startsWithTheRolloutsExtrasAndIgnoresAFolderThatDoesNotReadValid() throws Exception {
        List<String> warnings = new CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                warnings.add(record.getMessage());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        WATCH_LOG.addHandler(handler);
        open.add(() -> WATCH_LOG.removeHandler(handler));
        write("placement.json", ExpertPlacement.spread(16, 2, 1).toJson());   // shard 1: 8..15
        write("rollout.json", Rollout.of(ExpertPlacement.spread(16, 4, 1), 2).toJson());   // shard 1 also: 4..7
        ExpertServiceGrpc.ExpertServiceBlockingStub shard = startShard(1);
        List<String> atStart = held(range(4, 16), range(4, 16));
        assertEquals(atStart, held(stats(shard)), "the rollout's extras are held from the start");

        Path rollout = write("rollout.json", "{\"also_hold\": " + ExpertPlacement.spread(16, 2, 1).toJson()
                + ", \"shards_below\": 2, \"hurry\": true}");
        awaitWarning(warnings, "rollout file " + rollout + ": unknown field \"hurry\"; valid: also_hold, shards_below");
        assertEquals(atStart, held(stats(shard)));
        Path placement = write("placement.json", ExpertPlacement.spread(8, 2, 1).toJson());
        awaitWarning(warnings, "placement file " + placement + ": the placement is for 8 routed experts but the model has 16");
        assertEquals(atStart, held(stats(shard)), "still serving what it held");
        ForwardRequest request = request(1, new int[][] {{4, 15}, {7}});
        assertEquals(reference.forward(request).getExpertOutputs(), shard.forward(request).getExpertOutputs());

        // once the folder reads valid again, the shard follows it
        write("placement.json", ExpertPlacement.spread(16, 2, 1).toJson());
        write("rollout.json", "{}");
        awaitHeld(shard, held(range(8, 16), range(8, 16)));
    }

    private ExpertServiceGrpc.ExpertServiceBlockingStub startShard(int index) throws IOException {
        Path file = folder.resolve("placement.json");
        return stub(new ExpertServer(new ShardSettings(MODEL, ExpertPlacement.read(file), index, 0, 1, file), OpenTelemetry.noop())
                .start());
    }

    private ExpertServiceGrpc.ExpertServiceBlockingStub stub(ExpertServer server) {
        open.add(server);
        ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + server.port(), InsecureChannelCredentials.create()).build();
        open.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        return ExpertServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    /** Replaces a file of the folder at once, as kubelet does: the watch never reads half a file. */
    private Path write(String name, String text) throws IOException {
        Path target = folder.resolve(name);
        Path staged = Files.writeString(folder.resolve("." + name + ".new"), text);
        return Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Token rows of hidden size 64 (row t is {@code t+1} at position t), row t routed to {@code experts[t]}. */
    static ForwardRequest request(int layer, int[][] experts) {
        float[][] rows = new float[experts.length][64];
        ForwardRequest.Builder request = ForwardRequest.newBuilder().setLayer(layer).setHiddenSize(64);
        for (int t = 0; t < experts.length; t++) {
            rows[t][t] = t + 1;
            rows[t][63 - t] = -0.5f;
            TokenExperts.Builder token = TokenExperts.newBuilder();
            for (int k = 0; k < experts[t].length; k++) {
                token.addExperts(experts[t][k]);
            }
            request.addTokens(token);
        }
        return request.setHiddenStates(FloatRows.encode(rows, rows.length, 64)).build();
    }

    static void assertRefused(ExpertServiceGrpc.ExpertServiceBlockingStub shard, ForwardRequest request, String message) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> shard.forward(request));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode(), e.getMessage());
        assertTrue(e.getStatus().getDescription().contains(message), e.getMessage());
    }

    static StatsResponse stats(ExpertServiceGrpc.ExpertServiceBlockingStub shard) {
        return shard.stats(StatsRequest.getDefaultInstance());
    }

    private static long tokensOf(StatsResponse stats, int layer, int expert) {
        return stats.getExpertsList().stream().filter(e -> e.getLayer() == layer && e.getExpert() == expert)
                .findFirst().orElseThrow(() -> new AssertionError("layer " + layer + " expert " + expert + " not listed")).getTokens();
    }

    /** "layer:expert" of every expert Stats lists, in its order. */
    static List<String> held(StatsResponse stats) {
        return stats.getExpertsList().stream().map(e -> e.getLayer() + ":" + e.getExpert()).toList();
    }

    /** What Stats lists for {@code layer1} held in layer 1 and {@code layer2} in layer 2. */
    static List<String> held(List<Integer> layer1, List<Integer> layer2) {
        List<String> held = new ArrayList<>();
        layer1.forEach(e -> held.add("1:" + e));
        layer2.forEach(e -> held.add("2:" + e));
        return held;
    }

    static void awaitHeld(ExpertServiceGrpc.ExpertServiceBlockingStub shard, List<String> expected) throws InterruptedException {
        await(() -> held(stats(shard)), expected);
    }

    private static void awaitWarning(List<String> warnings, String reason) throws InterruptedException {
        await(() -> warnings.stream().anyMatch(w -> w.contains(reason)), true);
    }

    static <T> void await(Supplier<T> actual, T expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CHANGE_WITHIN_MS);
        T last = actual.get();
        while (!last.equals(expected)) {
            if (System.nanoTime() > deadline) {
                fail("not within " + CHANGE_WITHIN_MS + " ms: expected " + expected + ", last " + last);
            }
            Thread.sleep(50);
            last = actual.get();
        }
    }

    static List<Integer> range(int from, int to) {
        return IntStream.range(from, to).boxed().toList();
    }

    private static List<Integer> without(Integer... left) {
        List<Integer> rest = new ArrayList<>(range(0, 16));
        rest.removeAll(List.of(left));
        return rest;
    }
}
