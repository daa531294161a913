package io.moefleet.router.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.moefleet.chat.generation.FinishReason;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.engine.Engine;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.sampling.SamplingParams;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CountDownLatch;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The continuous-batching scheduler driven directly (no HTTP) over the engine of a generated {@code tiny} checkpoint:
 * requests join and leave the batch, chunked prefill, cancellation, the queue's limits, min_tokens and logprobs. Each
 * request's greedy tokens are checked against {@link Engine#generate} running it alone.
 *
 * <p>The scheduler steps its own {@link Transformer} over the engine's weights, whose attention backend records the
 * sequences it is asked to free, so that "the KV cache is freed" is observable; references come from the engine's own
 * model, never while a scheduler steps.
 */
class SchedulerTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    static Path checkpoint;
    private static Engine engine;
    private static Workers workers;
    private static TrackingAttention attention;
    private static Transformer model;
    private static int vocab;

    @BeforeAll
    static void open() throws Exception {
        CheckpointWriter.write(Preset.config("tiny"), 11, WeightFormat.BF16, checkpoint);
        engine = Engine.open(checkpoint, (done, total) -> { }, 2);
        Transformer reference = engine.model();
        workers = new Workers(2);
        attention = TrackingAttention.local(reference, workers);
        model = attention.model(reference, workers);
        vocab = reference.config().vocabSize();
    }

    @AfterAll
    static void close() {
        workers.close();
        engine.close();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // continuous batching

    @Test
    void aSlowAdmissionDelaysOnlyItsOwnRequestAndAFailedOneFailsOnlyItsOwn() throws Exception {
        int[] promptA = prompt(21, 9);
        int[] promptB = prompt(22, 12);
        int[] promptC = prompt(23, 6);
        int[] aloneA = engine.generate(promptA, 20, SamplingParams.greedy());
        int[] aloneB = engine.generate(promptB, 8, SamplingParams.greedy());
        CountDownLatch poolAnswers = new CountDownLatch(1);
        // as a pool lookup that hangs for B and fails for C: nothing is cached either way
        SequenceAdmission admission = (sequence, prompt) -> {
            if (Arrays.equals(prompt, promptB)) {
                try {
                    assertTrue(poolAnswers.await(WAIT.toSeconds(), TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            } else if (Arrays.equals(prompt, promptC)) {
                throw new IllegalStateException("no attention instance is up to take a sequence");
            }
            return 0;
        };
        try (Fixture f = new Fixture(new SchedulerLimits(4, 16, Duration.ofSeconds(60), 256), model::step, admission)) {
            Recorder a = new Recorder();
            Recorder b = new Recorder();
            Recorder c = new Recorder();
            f.scheduler.submit(greedy(promptB, 8, b));
            f.scheduler.submit(greedy(promptA, 20, a));
            f.scheduler.submit(greedy(promptC, 5, c));
            a.awaitEnd();
            c.awaitEnd();

            assertArrayEquals(aloneA, a.tokens(), "a ran to its end while b's admission hung");
            assertEquals(0, b.tokens().length);
            assertEquals(1, (long) f.metrics.admitting.get(), "b is still being admitted");
            assertTrue(c.error != null && c.error.getMessage().contains("no attention instance is up"), String.valueOf(c.error));
            assertEquals(0, c.tokens().length);

            poolAnswers.countDown();
            b.awaitEnd();
            assertArrayEquals(aloneB, b.tokens(), "b runs once admitted");
            assertTrue(f.scheduler.awaitIdle(WAIT));
        }
    }

    @Test
    void requestsJoinAndLeaveTheBatchAndGetTheTokensTheyGetAlone() throws Exception {
        int[] promptA = prompt(1, 10);
        int[] promptB = prompt(2, 17);
        int[] promptC = prompt(3, 5);
        int[] alone1 = engine.generate(promptA, 30, SamplingParams.greedy());
        int[] alone2 = engine.generate(promptB, 20, SamplingParams.greedy());
        int[] alone3 = engine.generate(promptC, 25, SamplingParams.greedy());

        StepLog log = new StepLog();
        Fixture f = new Fixture(new SchedulerLimits(4, 16, Duration.ofSeconds(60), 256), log);
        try (f) {
            Recorder a = new Recorder();
            Recorder b = new Recorder();
            Recorder c = new Recorder();
            // submitted from the listeners, on the stepping thread, so that they join at a known point however fast it steps
            a.at(5, () -> f.scheduler.submit(greedy(promptB, 20, b)));     // b joins while a decodes
            b.at(3, () -> f.scheduler.submit(greedy(promptC, 25, c)));     // c joins a and b
            f.scheduler.submit(greedy(promptA, 30, a));
            a.awaitEnd();
            b.awaitEnd();
            c.awaitEnd();

            assertArrayEquals(alone1, a.tokens(), "a's tokens among others equal a's alone");
            assertArrayEquals(alone2, b.tokens(), "b's tokens among others equal b's alone");
            assertArrayEquals(alone3, c.tokens(), "c's tokens among others equal c's alone");
            for (Recorder r : List.of(a, b, c)) {
                assertEquals(FinishReason.LENGTH, r.reason);
                assertEquals(r.tokens().length, r.generated);
                assertEquals(0, r.callsAfterEnd);
            }

            List<Set<Long>> steps = log.members();
            int largest = steps.stream().mapToInt(Set::size).max().orElse(0);
            assertTrue(largest >= 2, "some step ran several sequences at once: " + steps);
            long a1 = log.sequenceOf(promptA);
            long b1 = log.sequenceOf(promptB);
            long c1 = log.sequenceOf(promptC);
            int firstB = log.firstStepOf(b1);
            int firstC = log.firstStepOf(c1);
            int lastA = log.lastStepOf(a1);
            assertTrue(firstB > log.firstStepOf(a1) && firstB <= lastA, "b joined while a ran");
            assertTrue(steps.stream().anyMatch(s -> s.containsAll(Set.of(a1, b1, c1))), "a step ran all three");
            assertTrue(lastA < log.lastStepOf(b1) || lastA < log.lastStepOf(c1), "a left while others went on");
            assertTrue(firstC > firstB);
            // each sequence is in every step from its first to its last: one token per step once decoding
            for (long id : List.of(a1, b1, c1)) {
                for (int s = log.firstStepOf(id); s <= log.lastStepOf(id); s++) {
                    assertTrue(steps.get(s).contains(id), "sequence " + id + " skipped step " + s);
                }
            }
            assertEquals(30 + 20 + 25, f.metrics.generatedTokens());
            assertEquals(log.steps(), (long) f.metrics.steps.get());
            assertEquals(10 + 17 + 5, (long) f.metrics.promptTokens.get());
            awaitTrue(() -> f.metrics.running.get() == 0, "the batch emptied");
            assertEquals(Set.of(a1, b1, c1), attention.released(Set.of(a1, b1, c1)), "every finished sequence freed");
        }
    }

    @Test
    void aLongPromptIsPrefilledInChunksWhileAnotherSequenceKeepsDecoding() throws Exception {
        int[] shortPrompt = prompt(4, 4);
        int[] longPrompt = prompt(5, 40);
        int[] aloneShort = engine.generate(shortPrompt, 40, SamplingParams.greedy());
        int[] aloneLong = engine.generate(longPrompt, 6, SamplingParams.greedy());

        StepLog log = new StepLog();
        int budget = 8;
        Fixture f = new Fixture(new SchedulerLimits(2, 4, Duration.ofSeconds(60), budget), log);
        try (f) {
            Recorder decoding = new Recorder();
            Recorder prefilling = new Recorder();
            decoding.at(3, () -> f.scheduler.submit(greedy(longPrompt, 6, prefilling)));
            f.scheduler.submit(greedy(shortPrompt, 40, decoding));
            decoding.awaitEnd();
            prefilling.awaitEnd();

            assertArrayEquals(aloneShort, decoding.tokens());
            assertArrayEquals(aloneLong, prefilling.tokens(), "a prompt prefilled in chunks gives the tokens it gives whole");

            long d = log.sequenceOf(shortPrompt);
            long p = log.sequenceOf(longPrompt);
            List<Integer> prefillSteps = new ArrayList<>();
            int prefilled = 0;
            for (int s = 0; s < log.steps(); s++) {
                List<StepLog.Chunk> chunks = log.step(s);
                int total = chunks.stream().mapToInt(StepLog.Chunk::tokens).sum();
                assertTrue(total <= budget, "step " + s + " holds " + total + " tokens, over the budget of " + budget);
                for (StepLog.Chunk chunk : chunks) {
                    if (chunk.sequence() == p && prefilled < longPrompt.length) {
                        assertEquals(prefilled, chunk.start(), "chunks follow each other");
                        prefilled += chunk.tokens();
                        prefillSteps.add(s);
                    }
                }
            }
            assertEquals(longPrompt.length, prefilled);
            // 40 tokens beside one decode token per step, 7 at a time: 6 steps
            assertEquals(6, prefillSteps.size(), "the 40-token prompt was spread over steps: " + prefillSteps);
            for (int s : prefillSteps) {
                StepLog.Chunk decode = log.step(s).stream().filter(c -> c.sequence() == d).findFirst()
                        .orElseThrow(() -> new AssertionError("the decoding sequence stalled at step " + s));
                assertEquals(1, decode.tokens(), "the other sequence decodes one token per step meanwhile");
                assertEquals(log.step(s).getFirst(), decode, "decode tokens go first");
            }
            for (int i = 1; i < prefillSteps.size(); i++) {
                assertEquals(prefillSteps.get(i - 1) + 1, prefillSteps.get(i), "prefill chunks run in consecutive steps");
            }
            // the decoding sequence got one token per step during the prefill: its token count rose by the steps taken
            int before = decoding.tokensAfterStep(prefillSteps.getFirst(), log);
            int after = decoding.tokensAfterStep(prefillSteps.getLast(), log);
            assertEquals(prefillSteps.size() - 1, after - before);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // cancellation

    @Test
    void aCancelledGenerationStopsGettingTokensAndItsKvIsFreed() throws Exception {
        int[] promptA = prompt(6, 12);
        int[] promptB = prompt(7, 9);
        int[] aloneB = engine.generate(promptB, 12, SamplingParams.greedy());

        StepLog log = new StepLog();
        Fixture f = new Fixture(new SchedulerLimits(4, 16, Duration.ofSeconds(60), 64), log);
        try (f) {
            Recorder a = new Recorder();
            Scheduler.Handle handle = f.scheduler.submit(greedy(promptA, 100_000 - promptA.length, a));
            a.awaitTokens(5);
            long sequence = log.sequenceOf(promptA);
            assertEquals(1, f.metrics.running.get());
            handle.cancel();
            int atCancel = a.tokens().length;
            awaitTrue(() -> f.metrics.running.get() == 0, "the cancelled sequence left the batch");
            assertEquals(1, f.metrics.cancelled());
            assertTrue(attention.released(Set.of(sequence)).contains(sequence), "its KV was freed");
            int stepsAtDrop = log.steps();
            Thread.sleep(100);
            assertEquals(stepsAtDrop, log.steps(), "nothing steps once the batch is empty");
            assertTrue(a.tokens().length <= atCancel + 1, "at most the step under way when cancelled gave a token");
            assertNull(a.reason, "a cancelled generation gets no finish");
            assertNull(a.error, "a cancelled generation gets no error");

            // the scheduler goes on: a later request runs as it runs alone, and the cancelled one is never stepped again
            Recorder b = new Recorder();
            f.scheduler.submit(greedy(promptB, 12, b));
            b.awaitEnd();
            assertArrayEquals(aloneB, b.tokens());
            for (int s = stepsAtDrop; s < log.steps(); s++) {
                assertFalse(log.members().get(s).contains(sequence), "the cancelled sequence ran at step " + s);
            }
            assertEquals(1, f.metrics.cancelled());
        }
    }

    @Test
    void aCancelledWaitingRequestNeverRuns() throws Exception {
        StepLog log = new StepLog();
        Fixture f = new Fixture(new SchedulerLimits(1, 4, Duration.ofSeconds(60), 64), log);
        try (f) {
            Recorder running = new Recorder();
            Recorder waiting = new Recorder();
            int[] promptWaiting = prompt(9, 7);
            Scheduler.Handle first = f.scheduler.submit(greedy(prompt(8, 6), 5_000, running));
            running.awaitTokens(2);
            Scheduler.Handle second = f.scheduler.submit(greedy(promptWaiting, 10, waiting));
            assertEquals(1, f.metrics.waiting.get());
            second.cancel();
            awaitTrue(() -> f.metrics.cancelled() == 1 && f.metrics.waiting.get() == 0, "the waiting request was dropped");
            first.cancel();
            awaitTrue(() -> f.metrics.running.get() == 0 && f.metrics.cancelled() == 2, "the running one too");
            assertEquals(0, waiting.tokens().length);
            assertNull(waiting.reason);
            assertNull(waiting.error);
            assertTrue(log.members().stream().allMatch(s -> s.size() == 1), "only the first request ever ran");
            assertThrows(AssertionError.class, () -> log.sequenceOf(promptWaiting));
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // the queue's limits

    @Test
    void aRequestWaitingPastTheLimitIsTurnedAwayWithQueueTimeout() throws Exception {
        Fixture f = new Fixture(new SchedulerLimits(1, 4, Duration.ofMillis(50), 64), new StepLog());
        try (f) {
            Recorder running = new Recorder();
            Recorder late = new Recorder();
            Scheduler.Handle first = f.scheduler.submit(greedy(prompt(10, 6), 50_000, running));
            running.awaitTokens(2);
            f.scheduler.submit(greedy(prompt(11, 6), 10, late));
            late.awaitEnd();
            RejectedException rejected = assertInstanceOf(RejectedException.class, late.error);
            assertEquals(RejectedException.Reason.QUEUE_TIMEOUT, rejected.reason());
            assertTrue(rejected.retryAfter().toSeconds() >= 1, "a Retry-After is given");
            assertEquals(0, late.tokens().length);
            assertEquals(1, f.metrics.rejected(RejectedException.Reason.QUEUE_TIMEOUT));
            assertNull(running.reason, "the running request goes on");
            first.cancel();
            awaitTrue(() -> f.metrics.running.get() == 0, "the batch emptied");
        }
    }

    @Test
    void aFullQueueAndADrainingSchedulerTurnRequestsAwayAtOnce() throws Exception {
        Fixture f = new Fixture(new SchedulerLimits(1, 1, Duration.ofSeconds(60), 64), new StepLog());
        try (f) {
            Recorder running = new Recorder();
            Recorder queued = new Recorder();
            Scheduler.Handle first = f.scheduler.submit(greedy(prompt(12, 6), 50_000, running));
            running.awaitTokens(1);
            Scheduler.Handle second = f.scheduler.submit(greedy(prompt(13, 6), 3, queued));
            RejectedException full = assertThrows(RejectedException.class,
                    () -> f.scheduler.submit(greedy(prompt(14, 6), 3, new Recorder())));
            assertEquals(RejectedException.Reason.QUEUE_FULL, full.reason());
            assertEquals(1, f.metrics.rejected(RejectedException.Reason.QUEUE_FULL));

            f.scheduler.drain();
            assertTrue(f.scheduler.isDraining());
            RejectedException draining = assertThrows(RejectedException.class,
                    () -> f.scheduler.submit(greedy(prompt(15, 6), 3, new Recorder())));
            assertEquals(RejectedException.Reason.DRAINING, draining.reason());
            // what was queued and running before the drain still finishes
            first.cancel();
            queued.awaitEnd();
            assertEquals(FinishReason.LENGTH, queued.reason);
            assertEquals(3, queued.tokens().length);
            assertNotNull(second);
        }
    }

    @Test
    void submitChecksTheContextAndTheVocabulary() throws Exception {
        Fixture f = new Fixture(new SchedulerLimits(1, 1, Duration.ofSeconds(60), 64), new StepLog());
        try (f) {
            int context = f.scheduler.contextLength();
            IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
                    () -> f.scheduler.submit(greedy(new int[context], 1, new Recorder())));
            assertTrue(tooLong.getMessage().contains("context"), tooLong.getMessage());
            IllegalArgumentException notAToken = assertThrows(IllegalArgumentException.class,
                    () -> f.scheduler.submit(greedy(new int[] {1, vocab}, 1, new Recorder())));
            assertTrue(notAToken.getMessage().contains("vocabulary"), notAToken.getMessage());
            assertThrows(IllegalArgumentException.class, () -> f.scheduler.submit(greedy(new int[] {-1}, 1, new Recorder())));
            assertEquals(0, f.metrics.waiting.get());
        }
    }

    @Test
    void aFailedStepFailsItsRequestsAndTheNextOnesRun() throws Exception {
        int[] promptB = prompt(17, 8);
        int[] aloneB = engine.generate(promptB, 6, SamplingParams.greedy());
        AtomicBoolean failNext = new AtomicBoolean(true);
        StepLog log = new StepLog();
        Set<Long> failed = ConcurrentHashMap.newKeySet();
        Fixture f = new Fixture(new SchedulerLimits(2, 4, Duration.ofSeconds(60), 64), chunks -> {
            if (failNext.getAndSet(false)) {
                chunks.forEach(chunk -> failed.add(chunk.sequence().id()));
                throw new IllegalStateException("an expert shard is down");
            }
            return log.apply(chunks);
        });
        try (f) {
            Recorder a = new Recorder();
            f.scheduler.submit(greedy(prompt(16, 8), 6, a));
            a.awaitEnd();
            assertEquals("an expert shard is down", a.error.getMessage());
            assertEquals(0, a.tokens().length);
            awaitTrue(() -> f.metrics.running.get() == 0, "the batch emptied");
            assertEquals(1, (long) f.metrics.failed.get());
            assertEquals(1, failed.size());
            assertEquals(failed, attention.released(failed), "the failed sequence's KV was freed");
            Recorder b = new Recorder();
            f.scheduler.submit(greedy(promptB, 6, b));
            b.awaitEnd();
            assertNull(b.error);
            assertArrayEquals(aloneB, b.tokens());
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // min_tokens and logprobs

    @Test
    void minTokensMasksTheStopTokens() throws Exception {
        int[] p = prompt(18, 11);
        int[] alone = engine.generate(p, 1, SamplingParams.greedy());
        int stop = alone[0];                                    // the greedy first token, made a stop token
        float[] first = engine.logits(p)[p.length - 1];
        int secondBest = -1;
        for (int id = 0; id < first.length; id++) {
            if (id != stop && (secondBest < 0 || first[id] > first[secondBest])) {
                secondBest = id;
            }
        }

        Fixture f = new Fixture(new SchedulerLimits(2, 4, Duration.ofSeconds(60), 64), new StepLog());
        try (f) {
            Recorder unmasked = new Recorder();
            f.scheduler.submit(new Generation(p, SamplingParams.greedy(), 8, Set.of(stop), 0, -1, TokenPolicy.NONE, unmasked));
            unmasked.awaitEnd();
            assertEquals(FinishReason.STOP, unmasked.reason, "without min_tokens the stop token ends it at once");
            assertEquals(1, unmasked.generated, "the stop token counts as generated");
            assertEquals(0, unmasked.tokens().length, "the stop token is not handed on as text");

            Recorder masked = new Recorder();
            f.scheduler.submit(new Generation(p, SamplingParams.greedy(), 8, Set.of(stop), 4, -1, TokenPolicy.NONE, masked));
            masked.awaitEnd();
            int[] tokens = masked.tokens();
            assertTrue(tokens.length >= 4, "at least min_tokens tokens: " + Arrays.toString(tokens));
            assertEquals(secondBest, tokens[0], "the first token is the best one but the stop token");
            for (int i = 0; i < 4; i++) {
                assertNotEquals(stop, tokens[i], "a stop token sampled before min_tokens at " + i);
            }
            assertTrue(masked.reason == FinishReason.LENGTH && masked.generated == 8
                    || masked.reason == FinishReason.STOP && masked.generated == tokens.length + 1, masked.toString());
        }
    }

    @Test
    void logprobsMatchALogSoftmaxComputedIndependently() throws Exception {
        int[] p = prompt(19, 9);
        int count = 4;
        int topN = 5;
        Fixture f = new Fixture(new SchedulerLimits(2, 4, Duration.ofSeconds(60), 64), new StepLog());
        Recorder r = new Recorder();
        try (f) {
            f.scheduler.submit(new Generation(p, SamplingParams.greedy(), count, Set.of(), 0, topN, TokenPolicy.NONE, r));
            r.awaitEnd();
        }
        int[] tokens = r.tokens();
        assertEquals(count, tokens.length);
        assertEquals(count, r.logprobs.size());
        int[] context = Arrays.copyOf(p, p.length + count);
        System.arraycopy(tokens, 0, context, p.length, count);
        float[][] logits = engine.logits(context);              // one whole pass: every position's logits
        for (int i = 0; i < count; i++) {
            TokenLogprobs lp = r.logprobs.get(i);
            assertNotNull(lp, "logprobs asked for, so every token has them");
            double[] expected = logSoftmax(logits[p.length - 1 + i]);
            assertEquals(tokens[i], lp.token());
            assertEquals(expected[tokens[i]], lp.logprob(), 2e-3, "the chosen token's logprob at " + i);
            assertTrue(lp.logprob() <= 0);
            assertEquals(topN, lp.top().size());
            Integer[] ids = new Integer[expected.length];
            for (int id = 0; id < ids.length; id++) {
                ids[id] = id;
            }
            Arrays.sort(ids, (x, y) -> Double.compare(expected[y], expected[x]));
            for (int k = 0; k < topN; k++) {
                TokenLogprobs.Candidate candidate = lp.top().get(k);
                assertEquals(expected[candidate.token()], candidate.logprob(), 2e-3);
                assertEquals(expected[ids[k]], candidate.logprob(), 2e-3, "the k-th most likely token's logprob");
                if (k > 0) {
                    assertTrue(lp.top().get(k - 1).logprob() >= candidate.logprob(), "top sorted, most likely first");
                }
            }
            assertEquals(tokens[i], lp.top().getFirst().token(), "greedy picks the most likely token");
            assertEquals(lp.logprob(), lp.top().getFirst().logprob());
        }
    }

    @Test
    void tokenLogprobsSortTheTopMostLikelyFirstAndLowerIdsFirstOnTies() {
        float[] logits = {1f, 3f, 3f, -2f, 2f, 3f};
        TokenLogprobs lp = TokenLogprobs.of(logits, 4, 4);
        assertEquals(List.of(1, 2, 5, 4), lp.top().stream().map(TokenLogprobs.Candidate::token).toList());
        double[] expected = logSoftmax(logits);
        assertEquals(expected[4], lp.logprob(), 1e-6);
        for (TokenLogprobs.Candidate c : lp.top()) {
            assertEquals(expected[c.token()], c.logprob(), 1e-6);
        }
        assertEquals(0, TokenLogprobs.of(logits, 0, 0).top().size());
        assertEquals(List.of(1, 2, 5, 4, 0, 3),
                TokenLogprobs.of(logits, 0, 20).top().stream().map(TokenLogprobs.Candidate::token).toList(),
                "asking for more than the vocabulary gives all of it, sorted");
        double sum = 0;
        for (TokenLogprobs.Candidate c : TokenLogprobs.of(logits, 0, 20).top()) {
            sum += Math.exp(c.logprob());
        }
        assertEquals(1.0, sum, 1e-5);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // helpers

    private static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        double logZ = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - logZ;
        }
        return out;
    }

    private static int[] prompt(long seed, int length) {
        Random random = new Random(seed);
        int[] tokens = new int[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = random.nextInt(Math.min(vocab, 1000));
        }
        return tokens;
    }

    /** Greedy, no stop token (ignore-eos-like), as {@link Engine#generate} runs. */
    private static Generation greedy(int[] prompt, int maxTokens, GenerationListener listener) {
        return new Generation(prompt, SamplingParams.greedy(), maxTokens, Set.of(), 0, -1, TokenPolicy.NONE, listener);
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting until " + what);
            }
            Thread.sleep(5);
        }
    }

    /** A scheduler over the tracking model, stepping through {@code step}; closing it stops its thread. */
    private static final class Fixture implements AutoCloseable {

        final SchedulerMetrics metrics = new SchedulerMetrics(new PrometheusRegistry());
        final Scheduler scheduler;

        Fixture(SchedulerLimits limits, Function<List<StepChunk>, List<float[][]>> step) {
            this(limits, step, SequenceAdmission.NONE);
        }

        Fixture(SchedulerLimits limits, Function<List<StepChunk>, List<float[][]>> step, SequenceAdmission admission) {
            scheduler = new Scheduler(model, step, admission, limits, metrics);
        }

        @Override
        public void close() {
            scheduler.close();
        }
    }

    /** The model's steps, recorded: each chunk's sequence, start and token count, and the step's end time. */
    private static final class StepLog implements Function<List<StepChunk>, List<float[][]>> {

        record Chunk(long sequence, int start, int tokens, int[] firstTokens) {}

        private final List<List<Chunk>> steps = new CopyOnWriteArrayList<>();
        private final List<Long> endNanos = new CopyOnWriteArrayList<>();

        @Override
        public List<float[][]> apply(List<StepChunk> chunks) {
            List<Chunk> step = new ArrayList<>();
            for (StepChunk chunk : chunks) {
                step.add(new Chunk(chunk.sequence().id(), chunk.start(), chunk.tokens().length, chunk.tokens().clone()));
            }
            List<float[][]> logits = model.step(chunks);
            endNanos.add(System.nanoTime());
            steps.add(List.copyOf(step));
            return logits;
        }

        int steps() {
            return steps.size();
        }

        List<Chunk> step(int index) {
            return steps.get(index);
        }

        List<Set<Long>> members() {
            List<Set<Long>> out = new ArrayList<>();
            for (List<Chunk> step : steps) {
                Set<Long> ids = new HashSet<>();
                step.forEach(c -> ids.add(c.sequence()));
                out.add(ids);
            }
            return out;
        }

        /** The sequence whose first chunk starts with {@code prompt}'s first tokens. */
        long sequenceOf(int[] prompt) {
            for (List<Chunk> step : steps) {
                for (Chunk chunk : step) {
                    int n = Math.min(chunk.tokens(), prompt.length);
                    if (chunk.start() == 0 && chunk.tokens() <= prompt.length
                            && Arrays.equals(chunk.firstTokens(), 0, n, prompt, 0, n)) {
                        return chunk.sequence();
                    }
                }
            }
            throw new AssertionError("no step ran the prompt " + Arrays.toString(prompt));
        }

        int firstStepOf(long sequence) {
            for (int s = 0; s < steps.size(); s++) {
                if (members().get(s).contains(sequence)) {
                    return s;
                }
            }
            return -1;
        }

        int lastStepOf(long sequence) {
            List<Set<Long>> members = members();
            for (int s = members.size() - 1; s >= 0; s--) {
                if (members.get(s).contains(sequence)) {
                    return s;
                }
            }
            return -1;
        }

        long endNanos(int step) {
            return endNanos.get(step);
        }
    }

    /** A test listener: the tokens (with the time each came), logprobs, and how the generation ended. */
    private static final class Recorder implements GenerationListener {

        private final List<Integer> tokens = new ArrayList<>();
        private final List<Long> tokenNanos = new ArrayList<>();
        final List<TokenLogprobs> logprobs = new CopyOnWriteArrayList<>();
        volatile FinishReason reason;
        volatile int generated = -1;
        volatile RuntimeException error;
        volatile int callsAfterEnd;
        private boolean ended;
        private int triggerAt = -1;
        private Runnable trigger;

        /** Runs {@code action} on the stepping thread when the {@code n}-th token comes. */
        synchronized void at(int n, Runnable action) {
            triggerAt = n;
            trigger = action;
        }

        @Override
        public synchronized boolean onToken(int token, TokenLogprobs lp) {
            if (ended) {
                callsAfterEnd++;
            }
            tokens.add(token);
            tokenNanos.add(System.nanoTime());
            logprobs.add(lp);
            if (tokens.size() == triggerAt) {
                trigger.run();
            }
            notifyAll();
            return true;
        }

        @Override
        public synchronized void onFinish(FinishReason reason, int generated) {
            if (ended) {
                callsAfterEnd++;
            }
            this.reason = reason;
            this.generated = generated;
            ended = true;
            notifyAll();
        }

        @Override
        public synchronized void onError(RuntimeException error) {
            if (ended) {
                callsAfterEnd++;
            }
            this.error = error;
            ended = true;
            notifyAll();
        }

        synchronized int[] tokens() {
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }

        /** How many tokens had come once step {@code step}'s tokens were sampled (before the next step ended). */
        synchronized int tokensAfterStep(int step, StepLog log) {
            long next = step + 1 < log.steps() ? log.endNanos(step + 1) : Long.MAX_VALUE;
            return (int) tokenNanos.stream().filter(at -> at < next).count();
        }

        synchronized void awaitTokens(int n) throws InterruptedException {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (tokens.size() < n) {
                if (ended) {
                    fail("the generation ended after " + tokens.size() + " tokens, before " + n + " (" + reason + ", " + error + ")");
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("timed out waiting for " + n + " tokens; got " + tokens.size());
                }
                wait(Math.max(1, left / 1_000_000));
            }
        }

        synchronized void awaitEnd() throws InterruptedException {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!ended) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("timed out waiting for the generation to end; " + tokens.size() + " tokens so far");
                }
                wait(Math.max(1, left / 1_000_000));
            }
        }

        @Override
        public synchronized String toString() {
            return "Recorder[" + tokens + ", " + reason + ", generated " + generated + ", " + error + "]";
        }
    }
}
