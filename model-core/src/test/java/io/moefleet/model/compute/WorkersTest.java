package io.moefleet.model.compute;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * Hand-offs, split and shared out, interleaved many times on more threads than cores (so that workers wake late, skip
 * closed hand-offs and join open ones): every part and every claimed item runs exactly once, nothing runs after its
 * hand-off returned, failures reach the caller.
 */
class WorkersTest {

    @Test
    void everyPartAndEveryClaimedItemRunsOnceWhateverTheWorkersTiming() {
        try (Workers workers = new Workers(6)) {
            for (int round = 0; round < 3000; round++) {
                int n = 1 + round % 37;
                AtomicIntegerArray split = new AtomicIntegerArray(n);
                workers.parallelFor(n, (from, to) -> {
                    for (int i = from; i < to; i++) {
                        split.incrementAndGet(i);
                    }
                });
                AtomicIntegerArray claimed = new AtomicIntegerArray(n);
                AtomicInteger next = new AtomicInteger();
                AtomicInteger inside = new AtomicInteger();
                workers.shareOut(() -> {
                    inside.incrementAndGet();
                    for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                        claimed.incrementAndGet(i);
                    }
                    inside.decrementAndGet();
                });
                assertEquals(0, inside.get(), "round " + round + ": a thread still in the shared-out work after it returned");
                for (int i = 0; i < n; i++) {
                    assertEquals(1, split.get(i), "round " + round + ": part item " + i);
                    assertEquals(1, claimed.get(i), "round " + round + ": claimed item " + i);
                }
            }
        }
    }

    @Test
    void theCallerAloneDoesSharedOutWorkWhenNoWorkerJoins() {
        try (Workers workers = new Workers(3)) {
            Thread caller = Thread.currentThread();
            var threads = ConcurrentHashMap.<Thread>newKeySet();
            int[] items = new int[1000];
            AtomicInteger next = new AtomicInteger();
            workers.shareOut(() -> {
                threads.add(Thread.currentThread());
                for (int i = next.getAndIncrement(); i < items.length; i = next.getAndIncrement()) {
                    items[i]++;
                }
            });
            assertTrue(threads.contains(caller), "the caller runs the work itself");
            int[] ones = new int[items.length];
            Arrays.fill(ones, 1);
            assertArrayEquals(ones, items);
        }
    }

    @Test
    void aFailureOnAnyThreadReachesTheCaller() {
        try (Workers workers = new Workers(2)) {
            IllegalStateException own = new IllegalStateException("part 0");
            assertSame(own, assertThrows(IllegalStateException.class, () -> workers.parallelFor(2, (from, to) -> {
                if (from == 0) {
                    throw own;
                }
            })));
            IllegalArgumentException theirs = new IllegalArgumentException("part 1");
            assertSame(theirs, assertThrows(IllegalArgumentException.class, () -> workers.parallelFor(2, (from, to) -> {
                if (from == 1) {
                    throw theirs;
                }
            })));
            workers.parallelFor(2, (from, to) -> { });   // still serving after both
        }
    }
}
