package io.moefleet.attention.impl;

import io.moefleet.kvcache.KvPage;
import io.moefleet.kvcache.KvPool;
import io.moefleet.kvcache.PageKey;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Publishes full pages to the pool on a thread of its own, so that the Attend that completed a page only copies its
 * latents: encoding the page, keeping it hot and storing it in the pool happen here. The queue is bounded (a pool
 * slower than the model drops pages, counted, rather than piling them up on the heap); a failed publish is counted
 * and logged, never passed on, since the pool is a cache.
 */
final class PagePublisher implements AutoCloseable {

    /** Latents waiting in the queue at most, about: the capacity is this over one page's bytes, within [4, 1024] pages. */
    private static final long QUEUE_BYTES = 64L << 20;

    private final KvPool pool;
    private final HotPages hot;
    private final PoolHealth health;
    private final String modelId;
    private final int pageTokens;
    private final int layers;
    private final int width;
    private final ThreadPoolExecutor executor;
    private final AtomicInteger pending = new AtomicInteger();
    private final LongAdder published = new LongAdder();
    private final LongAdder present = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder dropped = new LongAdder();

    PagePublisher(KvPool pool, HotPages hot, PoolHealth health, String modelId, int layers, int width) {
        this.pool = pool;
        this.hot = hot;
        this.health = health;
        this.modelId = modelId;
        this.pageTokens = pool.pageTokens();
        this.layers = layers;
        this.width = width;
        long pageBytes = 4L * layers * pageTokens * width;
        int capacity = (int) Math.clamp(QUEUE_BYTES / pageBytes, 4, 1024);
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(capacity), runnable -> {
            Thread thread = new Thread(runnable, "kv-page-publisher");
            thread.setDaemon(true);
            return thread;
        }, new ThreadPoolExecutor.AbortPolicy());
    }

    /** Queues page {@code pageIndex} ({@code latents}: {@code [layers][pageTokens][width]}, handed over) under {@code key}. */
    void submit(PageKey key, int pageIndex, float[] latents) {
        pending.incrementAndGet();
        try {
            executor.execute(() -> publish(key, pageIndex, latents));
        } catch (RejectedExecutionException full) {
            pending.decrementAndGet();
            dropped.increment();
        }
    }

    private void publish(PageKey key, int pageIndex, float[] latents) {
        try {
            KvPage page = KvPage.fromFloats(modelId, pageIndex, pageTokens, layers, width, latents);
            hot.put(key, page);
            if (pool.publish(key, page)) {
                published.increment();
            } else {
                present.increment();
            }
            health.answered();
        } catch (RuntimeException e) {
            failed.increment();
            health.failed("publish of page " + pageIndex, e);
        } finally {
            pending.decrementAndGet();
        }
    }

    long published() {
        return published.sum();
    }

    long present() {
        return present.sum();
    }

    long failed() {
        return failed.sum();
    }

    long dropped() {
        return dropped.sum();
    }

    /** Queued or being published now. */
    int pending() {
        return pending.get();
    }

    /** Publishes what is queued (for up to 5 s), then stops. */
    @Override
    public void close() {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
