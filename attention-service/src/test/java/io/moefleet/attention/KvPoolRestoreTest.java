package io.moefleet.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.attention.PagedRequests.Generation;
import io.moefleet.engine.Engine;
import io.moefleet.model.SameBits;
import io.moefleet.model.GoldenData;
import io.moefleet.model.KnifeEdges;
import io.moefleet.model.weights.ModelWeights;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One attention instance of tiny-k2 with a KV pool of two members, pages of 4 tokens and no pages kept hot, so every
 * restore comes from the pool: a request publishes its full pages; a later request admitted with the same prompt, or
 * with a prompt sharing its first pages, restores them from the pool, computes only the rest (fewer token rows), and
 * gets the logits and greedy ids of computing everything (bitwise), which are the engine's.
 */
@Timeout(60)   // a hang fails the test rather than stalling the build
class KvPoolRestoreTest {

    private static final Path MODEL = GoldenData.checkpoint("tiny-k2");
    private static final int PAGE = 4;
    private static final int PROMPT = 22;
    private static final int GREEDY = 6;
    private static final int LAYERS = 3;

    private static PoolMembers pool;
    private static Engine engine;

    @BeforeAll
    static void start() {
        pool = PoolMembers.start(2);
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
    void aRepeatedPromptIsRestoredFromThePoolBitwise() {
        int[] prompt = KnifeEdges.clearPrompt(engine.model(), 11, PROMPT, GREEDY);
        int[] engineGreedy = KnifeEdges.greedy(engine.model(), prompt, GREEDY).greedy();
        try (AttentionFleet fleet = AttentionFleet.start(MODEL, 1, pool.settings(PAGE, 0), new RoundRobinAssignment())) {
            Generation first = PagedRequests.admitted(fleet, prompt, GREEDY);
            PagedRequests.awaitPublished(fleet.attention);
            InstanceStats afterFirst = fleet.attention.stats().getFirst();

            assertEquals(0, first.cached(), "an empty pool holds nothing");
            assertArrayEquals(engineGreedy, first.greedy(), "the first request against the engine");
            int length = PROMPT + GREEDY - 1;   // the last greedy token is never stepped
            assertEquals(length / PAGE, afterFirst.pages().pagesPublished(), "every full page published: " + afterFirst.pages());
            assertEquals(1, afterFirst.pages().poolMisses(), "the lookup found none of the 5 pages it could use");
            assertEquals((long) length * LAYERS, afterFirst.tokenRows());

            Generation second = PagedRequests.admitted(fleet, prompt, GREEDY);
            PagedRequests.awaitPublished(fleet.attention);
            InstanceStats afterSecond = fleet.attention.stats().getFirst();

            // 22 tokens: 5 pages restorable (two tokens are always computed), all 5 in the pool
            assertEquals(5 * PAGE, second.cached());
            assertEquals(5, afterSecond.pages().poolPagesFetched() - afterFirst.pages().poolPagesFetched(), afterSecond.pages().toString());
            assertEquals(0, afterSecond.pages().hotPagesUsed(), "no page is kept hot");
            assertEquals(5L * PAGE, afterSecond.pages().restoredTokens());
            assertEquals(1, afterSecond.pages().poolMisses(), "the second lookup found every page it looked for");
            assertEquals((long) (length - 5 * PAGE) * LAYERS, afterSecond.tokenRows() - afterFirst.tokenRows(),
                    "only the uncached rest of the prompt and the decode tokens were computed");
            assertArrayEquals(first.promptLogits(), second.promptLogits(), "the last prompt token's logits, bitwise");
            assertArrayEquals(first.greedy(), second.greedy());
            // the page completed again (positions 20..24) was in the pool already
            assertEquals(afterFirst.pages().pagesPublished(), afterSecond.pages().pagesPublished());
            assertEquals(1, afterSecond.pages().publishesPresent());
            assertEquals(0, afterSecond.pages().fetchFailures() + afterSecond.pages().publishFailures());
        }
    }

    @Test
    void aSharedPrefixRestoresItsFullPagesAndMatchesTheEngine() {
        int[] first = KnifeEdges.clearPrompt(engine.model(), 21, PROMPT, GREEDY);
        int[] second = PagedRequests.clearSharing(engine.model(), first, 18, 5, GREEDY);   // 23 tokens; pages 0..3 shared, page 4 (16..20) not
        try (AttentionFleet fleet = AttentionFleet.start(MODEL, 1, pool.settings(PAGE, 0), new RoundRobinAssignment())) {
            PagedRequests.admitted(fleet, first, GREEDY);
            PagedRequests.awaitPublished(fleet.attention);
            long fetchedBefore = fleet.attention.stats().getFirst().pages().poolPagesFetched();

            Generation restored = PagedRequests.admitted(fleet, second, GREEDY);
            InstancePageStats pages = fleet.attention.stats().getFirst().pages();
            Generation computed = PagedRequests.fromScratch(fleet, second, GREEDY);

            assertEquals(4 * PAGE, restored.cached(), "the shared full pages, up to the first page that differs");
            assertEquals(4, pages.poolPagesFetched() - fetchedBefore);
            assertEquals(2, pages.poolMisses(), "both lookups stopped short of the pages the prompt could use");
            assertArrayEquals(computed.promptLogits(), restored.promptLogits(), "restored against computed in full, bitwise");
            assertArrayEquals(computed.greedy(), restored.greedy());

            float[][] engineLogits = engine.logits(second);
            SameBits.assertRows(new float[][] {engineLogits[second.length - 1]}, new float[][] {restored.promptLogits()},
                    "restored prompt's logits against the engine's");
            assertArrayEquals(KnifeEdges.greedy(engine.model(), second, GREEDY).greedy(), restored.greedy(), "greedy ids against the engine");
        }
    }
}
