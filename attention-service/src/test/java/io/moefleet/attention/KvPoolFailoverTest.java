package io.moefleet.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.moefleet.attention.PagedRequests.Generation;
import io.moefleet.engine.Engine;
import io.moefleet.kvcache.KvCacheConfig;
import io.moefleet.model.GoldenData;
import io.moefleet.model.KnifeEdges;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.proto.attention.AttentionServiceGrpc;
import io.moefleet.proto.attention.PageStats;
import io.moefleet.proto.attention.StatsRequest;
import io.moefleet.proto.attention.StatsResponse;
import io.moefleet.rpc.ListenPorts;
import io.moefleet.sampling.Logits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The pool is a cache: a member lost between two requests loses no page (its backups answer); a sequence whose
 * attention instance stopped moves to another, which restores its pages from the pool; and a pool nobody can reach only
 * costs the restore, never the request, and never waits.
 */
@Timeout(60)   // a hang fails the test rather than stalling the build
class KvPoolFailoverTest {

    private static final Path MODEL = GoldenData.checkpoint("tiny-k2");
    private static final int PAGE = 4;
    private static final int PROMPT = 22;
    private static final int GREEDY = 6;

    private static Engine engine;

    @BeforeAll
    static void open() {
        engine = Engine.open(MODEL, ModelWeights.LoadProgress.NONE);
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    @Test
    void aPageSurvivesTheLossOfOneOfTwoMembers() {
        int[] prompt = KnifeEdges.clearPrompt(engine.model(), 31, PROMPT, GREEDY);
        try (PoolMembers pool = PoolMembers.start(2);
             AttentionFleet fleet = AttentionFleet.start(MODEL, 1, pool.settings(PAGE, 0), new RoundRobinAssignment())) {
            Generation first = PagedRequests.admitted(fleet, prompt, GREEDY);
            PagedRequests.awaitPublished(fleet.attention);
            // lose the member that owns more of the pages: their only copies left are the other member's backups
            int lost = pool.members.get(0).ownedPages() >= pool.members.get(1).ownedPages() ? 0 : 1;
            assertTrue(pool.members.get(lost).ownedPages() > 0, "the lost member owns pages, so their survival proves the backups");
            pool.members.get(lost).terminate();
            pool.awaitClusterSize(1 - lost, 1);

            Generation second = PagedRequests.admitted(fleet, prompt, GREEDY);
            InstancePageStats pages = fleet.attention.stats().getFirst().pages();

            assertEquals(5 * PAGE, second.cached(), "every restorable page still in the pool: " + pages);
            assertEquals(5, pages.poolPagesFetched());
            assertEquals(0, pages.fetchFailures());
            assertArrayEquals(first.promptLogits(), second.promptLogits(), "bitwise");
            assertArrayEquals(first.greedy(), second.greedy());
        }
    }

    @Test
    void aSequenceWhoseInstanceStoppedMovesToAnotherWhichRestoresItFromThePool() {
        int greedy = 10;
        int[] prompt = KnifeEdges.clearPrompt(engine.model(), 71, PROMPT, greedy);
        int[] engineGreedy = KnifeEdges.greedy(engine.model(), prompt, greedy).greedy();
        try (PoolMembers pool = PoolMembers.start(1);
             AttentionFleet fleet = AttentionFleet.start(MODEL, 2, pool.settings(PAGE, 0), sequence -> 0)) {
            Sequence sequence = fleet.model.newSequence();
            assertEquals(0, fleet.attention.admit(sequence, prompt));
            float[] logits = fleet.model.step(List.of(StepChunk.next(sequence, prompt, false))).getFirst()[0];
            int[] ids = new int[greedy];
            for (int i = 0; i < 5; i++) {   // 5 ids, 4 of them stepped: 26 positions on instance 0, 6 full pages
                ids[i] = Logits.argmax(logits);
                if (i < 4) {
                    logits = fleet.model.step(List.of(StepChunk.next(sequence, new int[] {ids[i]}, false))).getFirst()[0];
                }
            }
            PagedRequests.awaitPublished(fleet.attention);
            fleet.servers.get(0).stop();
            StepChunk pending = StepChunk.next(sequence, new int[] {ids[4]}, false);
            AttentionInstanceException lost = assertThrows(AttentionInstanceException.class, () -> fleet.model.step(List.of(pending)));
            assertEquals(List.of(0), lost.failedInstances());
            assertEquals(List.of(0), fleet.attention.instancesDown());

            // instance 1 (the assignment sees it alone now) restores 6 pages (24 positions); positions 24 and 25, which
            // decode steps computed, are recomputed one by one, then the pending step runs again
            List<StepChunk> recompute = fleet.attention.move(pending);
            assertEquals(List.of(24, 25), recompute.stream().map(StepChunk::start).toList());
            assertEquals(List.of(1, 1), recompute.stream().map(chunk -> chunk.tokens().length).toList());
            for (StepChunk chunk : recompute) {
                fleet.model.step(List.of(chunk));
            }
            logits = fleet.model.step(List.of(pending)).getFirst()[0];
            for (int i = 5; i < greedy; i++) {
                ids[i] = Logits.argmax(logits);
                if (i + 1 < greedy) {
                    logits = fleet.model.step(List.of(StepChunk.next(sequence, new int[] {ids[i]}, false))).getFirst()[0];
                }
            }
            PageStats moved = statsOf(fleet.servers.get(1)).getPages();

            assertEquals(6, moved.getPoolPagesFetched(), moved.toString());
            assertEquals(1, fleet.attention.instanceOf(sequence));
            assertArrayEquals(engineGreedy, ids, "the moved sequence goes on as if nothing happened");
        }
    }

    private static StatsResponse statsOf(AttentionServer server) {
        ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + server.port(), InsecureChannelCredentials.create()).build();
        try {
            return AttentionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .stats(StatsRequest.getDefaultInstance());
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    void anUnreachablePoolLeavesEveryPromptComputedWithoutWaiting() {
        int[] prompt = KnifeEdges.clearPrompt(engine.model(), 41, PROMPT, GREEDY);
        int[] engineGreedy = KnifeEdges.greedy(engine.model(), prompt, GREEDY).greedy();
        String nowhere = KvCacheConfig.DEFAULT_HOST + ":" + ListenPorts.take();
        KvPoolSettings unreachable = new KvPoolSettings(List.of(nowhere), "nobody", PAGE, 1 << 20, Duration.ofSeconds(2));
        long start = System.nanoTime();
        try (AttentionFleet fleet = AttentionFleet.start(MODEL, 1, unreachable, new RoundRobinAssignment())) {
            Generation first = PagedRequests.admitted(fleet, prompt, GREEDY);
            PagedRequests.awaitPublished(fleet.attention);
            Generation second = PagedRequests.admitted(fleet, prompt, GREEDY);
            PagedRequests.awaitPublished(fleet.attention);
            InstancePageStats pages = fleet.attention.stats().getFirst().pages();
            long tookMs = (System.nanoTime() - start) / 1_000_000;

            assertArrayEquals(engineGreedy, first.greedy());
            assertArrayEquals(engineGreedy, second.greedy());
            assertArrayEquals(first.promptLogits(), second.promptLogits());
            // the published pages stay hot in the instance: the second request restores them from its own memory
            assertEquals(0, first.cached());
            assertEquals(5 * PAGE, second.cached());
            assertEquals(5, pages.hotPagesUsed());
            assertEquals(0, pages.poolPagesFetched());
            assertEquals(1, pages.fetchFailures(), "the first lookup failed (the second found every page hot): " + pages);
            assertEquals(0, pages.pagesPublished());
            assertEquals(7, pages.publishFailures(), "6 pages of the first request and 1 page of the second: " + pages);
            assertTrue(tookMs < 10_000, "two requests with the pool unreachable took " + tookMs + " ms");
        }
    }
}
