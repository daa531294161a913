package io.moefleet.attention.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.kvcache.KvPage;
import io.moefleet.kvcache.KvPool;
import io.moefleet.kvcache.KvPoolStats;
import io.moefleet.kvcache.PageKey;
import io.moefleet.kvcache.PageKeys;
import io.moefleet.model.GoldenData;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.forward.LocalAttention;
import io.moefleet.model.forward.Sequence;
import io.moefleet.proto.attention.PageStats;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An instance's pages over an in-memory pool that can be made to hang: what is published (each full page once, under
 * the chain's keys, the sequence's own latents), what a restore takes from the hot pages and the pool, and that a pool
 * that does not answer costs a bounded wait and a counted failure, never a stuck Attend.
 */
@Timeout(30)
class InstancePagesTest {

    private static final ModelConfig CONFIG = ModelConfig.read(GoldenData.checkpoint("tiny-k2").resolve("config.json"));
    private static final int LAYERS = CONFIG.numHiddenLayers();
    private static final int WIDTH = CONFIG.latentWidth();
    private static final int PAGE = 4;
    private static final String MODEL = "test-model/f32";

    @Test
    void everyFullPageIsPublishedOnceWithTheSequencesLatents() {
        MapPool pool = new MapPool();
        try (InstancePages pages = new InstancePages(pool, MODEL, LAYERS, WIDTH, 0, Duration.ofSeconds(2))) {
            int[] tokens = IntStream.range(0, 11).map(t -> 3 * t + 1).toArray();
            HeldSequence held = HeldSequence.started(sequenceOf(tokens.length, 0.5f));
            held.record(0, tokens);
            pages.publishFullPages(held, 0);
            pages.publishFullPages(held, 11);   // nothing new: published once
            awaitIdle(pages);

            List<PageKey> keys = PageKeys.of(MODEL, tokens, PAGE);
            assertEquals(2, pool.pages.size());
            assertEquals(2, pages.stats().getPagesPublished());
            for (int i = 0; i < keys.size(); i++) {
                KvPage page = pool.pages.get(keys.get(i));
                assertEquals(i, page.pageIndex());
                float[] row = new float[WIDTH];
                page.copyLatent(2, 3, row);
                assertArrayEquals(latentRow(2, i * PAGE + 3, 0.5f), row, "page " + i + ", layer 2, position 3");
            }

            // a chunk recomputed from position 5 (in page 1) with other tokens: page 1 gets the new chain's key
            int[] changed = {90, 91, 92, 93, 94, 95};
            held.record(5, changed);
            pages.publishFullPages(held, 5);
            awaitIdle(pages);
            int[] now = IntStream.range(0, 11).map(t -> t < 5 ? tokens[t] : changed[t - 5]).toArray();
            assertEquals(3, pool.pages.size());
            assertTrue(pool.pages.containsKey(PageKeys.of(MODEL, now, PAGE).get(1)));
        }
    }

    @Test
    void aRestoreTakesTheHotRunThenThePoolAndLeavesTwoTokensToCompute() {
        MapPool pool = new MapPool();
        int[] prompt = IntStream.range(0, 18).toArray();   // 16 tokens restorable at most: 4 pages
        List<PageKey> keys = PageKeys.of(MODEL, prompt, PAGE);
        try (InstancePages pages = new InstancePages(pool, MODEL, LAYERS, WIDTH, 1 << 20, Duration.ofSeconds(2))) {
            for (int i = 0; i < 3; i++) {
                pool.publish(keys.get(i), page(i, i));
            }
            RestoredPrefix first = pages.restore(prompt);
            assertEquals(List.of(0, 3), List.of(first.hotPages(), first.poolPages()));
            assertEquals(keys.subList(0, 3), first.keys());

            pool.publish(keys.get(3), page(3, 3));
            RestoredPrefix second = pages.restore(prompt);
            assertEquals(List.of(3, 1), List.of(second.hotPages(), second.poolPages()), "the fetched pages are hot now");
            assertEquals(4, pages.hotPrefix(prompt));
            assertEquals(3, pages.hotPrefix(IntStream.range(0, 17).toArray()), "17 tokens leave room for 3 pages only");

            PageStats stats = pages.stats();
            assertEquals(1, stats.getPoolMisses(), "the first lookup stopped at page 3");
            assertEquals(4, stats.getPoolPagesFetched());
            assertEquals(28, stats.getRestoredTokens());
        }
    }

    @Test
    void aPoolThatDoesNotAnswerCostsTheFetchTimeoutAndACountedFailure() throws InterruptedException {
        MapPool pool = new MapPool();
        int[] prompt = IntStream.range(0, 22).toArray();
        pool.publish(PageKeys.of(MODEL, prompt, PAGE).getFirst(), page(0, 0));
        pool.hang();
        try (InstancePages pages = new InstancePages(pool, MODEL, LAYERS, WIDTH, 0, Duration.ofMillis(300))) {
            long start = System.nanoTime();
            RestoredPrefix restored = pages.restore(prompt);
            long tookMs = (System.nanoTime() - start) / 1_000_000;

            assertEquals(0, restored.pages().size());
            assertTrue(tookMs >= 300 && tookMs < 3_000, "the restore took " + tookMs + " ms");
            assertEquals(1, pages.stats().getFetchFailures());

            // publishes queue up behind the hung pool: the queue is bounded, the rest dropped and counted
            HeldSequence held = HeldSequence.started(sequenceOf(PAGE * 1100, 1f));
            held.record(0, IntStream.range(0, PAGE * 1100).toArray());
            pages.publishFullPages(held, 0);
            PageStats stats = pages.stats();
            assertEquals(1100, stats.getPublishesPending() + stats.getPublishesDropped());
            assertTrue(stats.getPublishesDropped() > 0 && stats.getPublishesPending() <= 1025, stats.toString());
            pool.answer();
            awaitIdle(pages);
            // the first page's tokens (0..3) are those of the page published before the pool hung
            PageStats after = pages.stats();
            assertEquals(List.of(1100 - after.getPublishesDropped() - 1, 1L), List.of(after.getPagesPublished(), after.getPublishesPresent()));
        } finally {
            pool.answer();
        }
    }

    @Test
    void aPageOfAnotherShapeEndsTheRestore() {
        MapPool pool = new MapPool();
        int[] prompt = IntStream.range(0, 14).toArray();
        List<PageKey> keys = PageKeys.of(MODEL, prompt, PAGE);
        pool.publish(keys.get(0), page(0, 0));
        pool.publish(keys.get(1), KvPage.fromFloats("another-model/f32", 1, PAGE, LAYERS, WIDTH, new float[LAYERS * PAGE * WIDTH]));
        try (InstancePages pages = new InstancePages(pool, MODEL, LAYERS, WIDTH, 0, Duration.ofSeconds(2))) {
            RestoredPrefix restored = pages.restore(prompt);
            assertEquals(1, restored.pages().size(), "page 0 only");
            assertEquals(1, pages.stats().getFetchFailures());
        }
    }

    /** A sequence of {@code positions} whose latent at (layer, position, i) is {@link #latentRow}'s. */
    private static Sequence sequenceOf(int positions, float scale) {
        Sequence sequence = new LocalAttention(CONFIG, layer -> null, null).newSequence();
        float[] latents = new float[LAYERS * positions * WIDTH];
        for (int layer = 0; layer < LAYERS; layer++) {
            for (int p = 0; p < positions; p++) {
                System.arraycopy(latentRow(layer, p, scale), 0, latents, (layer * positions + p) * WIDTH, WIDTH);
            }
        }
        sequence.appendLatents(positions, FloatBuffer.wrap(latents));
        return sequence;
    }

    private static float[] latentRow(int layer, int position, float scale) {
        float[] row = new float[WIDTH];
        for (int i = 0; i < WIDTH; i++) {
            row[i] = scale * (layer * 1000 + position + i / 100f);
        }
        return row;
    }

    private static KvPage page(int index, float value) {
        float[] latents = new float[LAYERS * PAGE * WIDTH];
        java.util.Arrays.fill(latents, value);
        return KvPage.fromFloats(MODEL, index, PAGE, LAYERS, WIDTH, latents);
    }

    private static void awaitIdle(InstancePages pages) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (pages.stats().getPublishesPending() > 0) {
            assertTrue(System.nanoTime() < deadline, "publishes still pending");
            Thread.onSpinWait();
        }
    }

    /** A pool in a map; {@link #hang} makes every call wait until {@link #answer}. */
    private static final class MapPool implements KvPool {

        final Map<PageKey, KvPage> pages = new ConcurrentHashMap<>();
        private volatile CountDownLatch gate = new CountDownLatch(0);

        void hang() {
            gate = new CountDownLatch(1);
        }

        void answer() {
            gate.countDown();
        }

        private void pass() {
            try {
                gate.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }

        @Override
        public int pageTokens() {
            return PAGE;
        }

        @Override
        public boolean publish(PageKey key, KvPage page) {
            pass();
            return pages.putIfAbsent(key, page) == null;
        }

        @Override
        public Optional<KvPage> get(PageKey key) {
            pass();
            return Optional.ofNullable(pages.get(key));
        }

        @Override
        public List<KvPage> getPrefix(List<PageKey> keys) {
            pass();
            List<KvPage> run = new ArrayList<>();
            for (PageKey key : keys) {
                KvPage page = pages.get(key);
                if (page == null) {
                    break;
                }
                run.add(page);
            }
            return run;
        }

        @Override
        public int longestCachedPrefix(List<PageKey> keys) {
            return getPrefix(keys).size();
        }

        @Override
        public KvPoolStats stats() {
            return new KvPoolStats(0, 0, pages.size(), 0, 0, 0, 0);
        }

        @Override
        public void close() {
        }
    }
}
