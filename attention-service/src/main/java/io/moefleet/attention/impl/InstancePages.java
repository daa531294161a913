package io.moefleet.attention.impl;

import io.moefleet.attention.KvPoolSettings;
import io.moefleet.kvcache.HazelcastKvPool;
import io.moefleet.kvcache.KvPage;
import io.moefleet.kvcache.KvPool;
import io.moefleet.kvcache.PageKey;
import io.moefleet.kvcache.PageKeys;
import io.moefleet.proto.attention.PageStats;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;

/**
 * One instance's KV pages: the pool (a cache: when it fails or is slow, prompts are computed), the pages kept hot in
 * the instance's memory, and the publisher. Page keys are {@link PageKeys}' hash chain over the model id and a
 * sequence's tokens; a page holds every layer's latents of its positions.
 */
public final class InstancePages implements AutoCloseable {

    /**
     * Prompt tokens Admit leaves to be computed, at least (or the whole prompt when shorter): with two or more the
     * first chunk takes the same multi-token attention as a prefill of the whole prompt (one token would take the
     * absorbed decode path, whose sums differ in the last bits), so the logits are bitwise those of recomputing.
     */
    static final int MIN_COMPUTED_TOKENS = 2;

    private final KvPool pool;
    private final String modelId;
    private final int pageTokens;
    private final int layers;
    private final int width;
    private final Duration fetchTimeout;
    private final HotPages hot;
    private final PoolHealth health = new PoolHealth();
    private final PagePublisher publisher;
    private final ExecutorService fetcher = Executors.newFixedThreadPool(2, runnable -> {
        Thread thread = new Thread(runnable, "kv-page-fetch");
        thread.setDaemon(true);
        return thread;
    });
    private final LongAdder admitted = new LongAdder();
    private final LongAdder restoredTokens = new LongAdder();
    private final LongAdder hotPagesUsed = new LongAdder();
    private final long hotBudgetBytes;
    private final LongAdder poolPagesFetched = new LongAdder();
    private final LongAdder poolMisses = new LongAdder();
    private final LongAdder fetchFailures = new LongAdder();

    /**
     * Pages of {@code layers} x {@code width} latents per position, under {@code modelId}, in {@code pool} (closed with
     * this), {@code hotBytes} of them kept in memory; a lookup waits {@code fetchTimeout} for the pool at most.
     */
    public InstancePages(KvPool pool, String modelId, int layers, int width, long hotBytes, Duration fetchTimeout) {
        this.pool = pool;
        this.modelId = modelId;
        this.pageTokens = pool.pageTokens();
        this.layers = layers;
        this.width = width;
        this.fetchTimeout = fetchTimeout;
        this.hot = new HotPages(hotBytes);
        this.hotBudgetBytes = hotBytes;
        this.publisher = new PagePublisher(pool, hot, health, modelId, layers, width);
    }

    /** The memory the hot pages may take at most. */
    public long hotBudgetBytes() {
        return hotBudgetBytes;
    }

    /**
     * The pool of {@code settings}, once reached or after its timeout without (then reached in the background): the
     * instance waits no longer for it.
     */
    public static InstancePages connect(KvPoolSettings settings, String modelId, int layers, int width) {
        KvPool pool = HazelcastKvPool.connectInBackground(settings.clusterName(), settings.members(), settings.pageTokens(),
                settings.poolTimeout());
        return new InstancePages(pool, modelId, layers, width, settings.hotBytes(), settings.poolTimeout());
    }

    public int pageTokens() {
        return pageTokens;
    }

    public String modelId() {
        return modelId;
    }

    /** Full pages of a prompt of {@code tokens} that Admit may restore: all but {@link #MIN_COMPUTED_TOKENS} tokens' worth. */
    int restorablePages(int tokens) {
        return (tokens - Math.min(tokens, MIN_COMPUTED_TOKENS)) / pageTokens;
    }

    /** Leading restorable pages of {@code prompt} held hot here. */
    int hotPrefix(int[] prompt) {
        return hot.leadingRunLength(keys(prompt));
    }

    /**
     * The longest run of the prompt's leading restorable pages: those hot here, then the rest from the pool in one
     * batch, waiting {@code fetchTimeout} at most. A pool that fails, is slow or answers a page of another shape ends
     * the run there (counted); the pages fetched become hot.
     */
    RestoredPrefix restore(int[] prompt) {
        admitted.increment();
        List<PageKey> keys = keys(prompt);
        List<KvPage> pages = new ArrayList<>(hot.leadingRun(keys));
        int hotCount = pages.size();
        if (hotCount < keys.size()) {
            List<PageKey> wanted = keys.subList(hotCount, keys.size());
            List<KvPage> fetched = fetch(wanted);
            if (fetched != null && fetched.size() < wanted.size()) {
                poolMisses.increment();
            }
            for (int i = 0; fetched != null && i < fetched.size(); i++) {
                KvPage page = fetched.get(i);
                String problem = shapeProblem(page, hotCount + i);
                if (problem != null) {
                    fetchFailures.increment();
                    health.failed("lookup", new IllegalStateException("the pool answered " + page + ": " + problem));
                    break;
                }
                hot.put(keys.get(hotCount + i), page);
                pages.add(page);
            }
        }
        int poolCount = pages.size() - hotCount;
        hotPagesUsed.add(hotCount);
        poolPagesFetched.add(poolCount);
        restoredTokens.add((long) pages.size() * pageTokens);
        return new RestoredPrefix(List.copyOf(keys.subList(0, pages.size())), pages, hotCount, poolCount);
    }

    /**
     * After the model's last layer of a step whose chunk of {@code held} started at {@code chunkStart}: publishes the
     * sequence's full pages not published or restored yet, the pages the chunk recomputed included. Their keys extend
     * the sequence's chain; their latents are copied here and published on the publisher's thread.
     */
    void publishFullPages(HeldSequence held, int chunkStart) {
        held.dropPageKeysFrom(chunkStart / pageTokens);
        int full = held.tokenCount() / pageTokens;
        while (held.keyedPages() < full) {
            int index = held.keyedPages();
            int start = index * pageTokens;
            PageKey key = PageKeys.next(modelId, index == 0 ? null : held.pageKey(index - 1), held.tokens(), start, pageTokens);
            float[] latents = new float[layers * pageTokens * width];
            held.sequence().copyLatents(start, start + pageTokens, FloatBuffer.wrap(latents));
            held.addPageKey(key);
            publisher.submit(key, index, latents);
        }
    }

    PageStats stats() {
        return PageStats.newBuilder()
                .setPageTokens(pageTokens)
                .setAdmitted(admitted.sum())
                .setRestoredTokens(restoredTokens.sum())
                .setHotPagesUsed(hotPagesUsed.sum())
                .setPoolPagesFetched(poolPagesFetched.sum())
                .setPoolMisses(poolMisses.sum())
                .setFetchFailures(fetchFailures.sum())
                .setPagesPublished(publisher.published())
                .setPublishesPresent(publisher.present())
                .setPublishFailures(publisher.failed())
                .setPublishesDropped(publisher.dropped())
                .setPublishesPending(publisher.pending())
                .setHotPages(hot.size())
                .setHotBytes(hot.bytes())
                .setHotPagesEvicted(hot.evicted())
                .build();
    }

    /** Publishes what is queued (for up to 5 s), then disconnects from the pool. */
    @Override
    public void close() {
        try {
            publisher.close();
            fetcher.shutdownNow();
        } finally {
            pool.close();
        }
    }

    private List<PageKey> keys(int[] prompt) {
        return PageKeys.of(modelId, Arrays.copyOf(prompt, restorablePages(prompt.length) * pageTokens), pageTokens);
    }

    /** The pool's leading run of {@code keys}; null when it failed or did not answer in time (counted). */
    private List<KvPage> fetch(List<PageKey> keys) {
        Future<List<KvPage>> lookup;
        try {
            lookup = fetcher.submit(() -> pool.getPrefix(keys));
        } catch (RejectedExecutionException closing) {
            return null;
        }
        try {
            List<KvPage> pages = lookup.get(fetchTimeout.toNanos(), TimeUnit.NANOSECONDS);
            health.answered();
            return pages;
        } catch (TimeoutException e) {
            lookup.cancel(true);
            fetchFailures.increment();
            health.failed("lookup (no answer in " + fetchTimeout.toMillis() + " ms)", e);
        } catch (ExecutionException e) {
            fetchFailures.increment();
            health.failed("lookup", e.getCause());
        } catch (InterruptedException e) {
            lookup.cancel(true);
            Thread.currentThread().interrupt();
        }
        return null;
    }

    private String shapeProblem(KvPage page, int index) {
        if (!page.modelId().equals(modelId)) {
            return "model " + page.modelId() + ", not " + modelId;
        }
        if (page.pageIndex() != index || page.tokenCount() != pageTokens || page.layers() != layers || page.width() != width) {
            return "expected page " + index + " of " + layers + "x" + pageTokens + "x" + width;
        }
        return null;
    }
}
