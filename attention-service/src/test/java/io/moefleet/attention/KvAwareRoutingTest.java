package io.moefleet.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moefleet.attention.PagedRequests.Generation;
import io.moefleet.engine.Engine;
import io.moefleet.model.GoldenData;
import io.moefleet.model.KnifeEdges;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.weights.ModelWeights;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two attention instances of tiny-k2 sharing a KV pool (pages of 4 tokens), each keeping its pages hot: a prompt sharing
 * a prefix goes to the instance holding it hot and is restored there without a fetch; a prompt placed on the other
 * instance fetches the same pages from the pool. Either way its output is bitwise that of computing it in full.
 */
@Timeout(60)   // a hang fails the test rather than stalling the build
class KvAwareRoutingTest {

    private static final Path MODEL = GoldenData.checkpoint("tiny-k2");
    private static final int PAGE = 4;
    private static final int PROMPT = 22;
    private static final int GREEDY = 6;

    private static PoolMembers pool;
    private static Engine engine;

    @BeforeAll
    static void start() {
        pool = PoolMembers.start(1);
        engine = Engine.open(MODEL, ModelWeights.LoadProgress.NONE);
    }

    @AfterAll
    static void stop() {
        if (engine != null) {
            engine.close();
        }
        if (pool != null) {
            pool.close();
        }
    }

    @Test
    void aSharedPrefixGoesToTheInstanceHoldingItHotDespiteItsLoad() {
        int[] first = KnifeEdges.clearPrompt(engine.model(), 51, PROMPT, GREEDY);
        int[] sharing = PagedRequests.sharingPrefix(first, 18, 5, 1, engine.model().config().vocabSize());
        int[] unrelated = KnifeEdges.clearPrompt(engine.model(), 52, PROMPT, GREEDY);
        LongestPrefixAssignment routing = new LongestPrefixAssignment();
        try (AttentionFleet fleet = AttentionFleet.start(MODEL, 2, pool.settings(PAGE, 1 << 20), routing)) {
            // the first request stays held on its instance, which is thus the more loaded one
            Sequence held = fleet.model.newSequence();
            assertEquals(0, fleet.attention.admit(held, first));
            fleet.model.step(List.of(StepChunk.next(held, first, false)));
            PagedRequests.awaitPublished(fleet.attention);
            int home = fleet.attention.instanceOf(held);

            Generation restored = PagedRequests.admitted(fleet, sharing, GREEDY);
            List<InstanceStats> stats = fleet.attention.stats();

            assertEquals(1, routing.prefixRouted(), "the sharing prompt followed its prefix");
            assertEquals(1, routing.loadRouted(), "the first prompt had nowhere to follow");
            assertEquals(4 * PAGE, restored.cached());
            assertEquals(4, stats.get(home).pages().hotPagesUsed(), "restored from the instance's own memory: " + stats.get(home));
            assertEquals(0, stats.get(home).pages().poolPagesFetched());
            assertEquals(2, stats.get(home).sequencesStarted(), "both sequences on the instance holding the prefix");
            assertEquals(0, stats.get(1 - home).sequencesStarted());

            Generation other = PagedRequests.admitted(fleet, unrelated, GREEDY);
            assertEquals(0, other.cached());
            assertEquals(1, fleet.attention.stats().get(1 - home).sequencesStarted(), "an unrelated prompt goes to the idle instance");
            assertEquals(2, routing.loadRouted());
            assertArrayEquals(KnifeEdges.greedy(engine.model(), unrelated, GREEDY).greedy(), other.greedy());

            Generation computed = PagedRequests.fromScratch(fleet, sharing, GREEDY);
            assertArrayEquals(computed.promptLogits(), restored.promptLogits(), "restored against computed in full, bitwise");
            assertArrayEquals(computed.greedy(), restored.greedy());
            fleet.model.release(held);
        }
    }

    @Test
    void aPrefixComputedOnOneInstanceIsFetchedFromThePoolByTheOther() {
        int[] first = KnifeEdges.clearPrompt(engine.model(), 61, PROMPT, GREEDY);
        int[] sharing = PagedRequests.clearSharing(engine.model(), first, 18, 5, GREEDY);
        int[] target = {0};
        SequenceAssignment forced = sequence -> target[0];
        try (AttentionFleet fleet = AttentionFleet.start(MODEL, 2, pool.settings(PAGE, 1 << 20), forced)) {
            PagedRequests.admitted(fleet, first, GREEDY);
            PagedRequests.awaitPublished(fleet.attention);

            target[0] = 1;
            Generation restored = PagedRequests.admitted(fleet, sharing, GREEDY);
            PagedRequests.awaitPublished(fleet.attention);
            List<InstanceStats> stats = fleet.attention.stats();

            assertEquals(4 * PAGE, restored.cached());
            assertEquals(4, stats.get(1).pages().poolPagesFetched(), "pool hits on the other instance: " + stats.get(1));
            assertEquals(0, stats.get(1).pages().hotPagesUsed());
            assertEquals(0, stats.get(0).pages().hotPagesUsed() + stats.get(0).pages().poolPagesFetched(), "instance 0 restored nothing");
            assertEquals(List.of(0L, 0L), stats.stream().map(s -> s.pages().fetchFailures()).toList());
            // 23 prompt tokens and 5 decoded: 7 full pages, the 4 fetched and the 3 it published, all hot now
            assertEquals(7, stats.get(1).pages().hotPages());

            target[0] = 0;
            Generation computed = PagedRequests.fromScratch(fleet, sharing, GREEDY);
            assertArrayEquals(computed.promptLogits(), restored.promptLogits(), "bitwise");
            assertArrayEquals(computed.greedy(), restored.greedy());
            assertArrayEquals(KnifeEdges.greedy(engine.model(), sharing, GREEDY).greedy(), restored.greedy(), "against the engine");
        }
    }
}
