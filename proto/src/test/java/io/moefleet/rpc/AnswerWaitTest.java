package io.moefleet.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class AnswerWaitTest {

    @Test
    void anAnswerThatComesWhileSpinningIsTakenWithoutParking() throws Exception {
        AnswerWait wait = new AnswerWait();
        wait.spinFor(Duration.ofSeconds(5));
        CompletableFuture<String> answer = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            sleep(20);
            answer.complete("rows");
        });
        long start = System.nanoTime();
        assertEquals("rows", wait.get(answer));
        assertTrue(System.nanoTime() - start < 4_000_000_000L, "returned once the answer came, not after the whole spin");
    }

    @Test
    void aSpinLongerThanTheTimeoutStillTimesOutAndFailuresComeThrough() {
        AnswerWait wait = new AnswerWait();
        wait.spinFor(Duration.ofSeconds(5));
        long start = System.nanoTime();
        assertThrows(TimeoutException.class, () -> wait.get(new CompletableFuture<String>(), 30_000_000L));
        assertTrue(System.nanoTime() - start < 4_000_000_000L, "the timeout bounds the spin");

        wait.spinFor(Duration.ZERO);
        ExecutionException failed = assertThrows(ExecutionException.class,
                () -> wait.get(CompletableFuture.failedFuture(new IllegalStateException("shard down"))));
        assertEquals("shard down", failed.getCause().getMessage());
        assertThrows(IllegalArgumentException.class, () -> wait.spinFor(Duration.ofNanos(-1)));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
