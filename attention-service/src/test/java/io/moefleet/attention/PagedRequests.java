package io.moefleet.attention;

import io.moefleet.model.KnifeEdges;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.sampling.Logits;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/** Requests through a fleet as a router runs them: admit, the prompt's uncached rest, greedy decode, release. */
final class PagedRequests {

    /** What one request did: the tokens admit found cached, the last prompt token's logits, the greedy ids. */
    record Generation(int cached, float[] promptLogits, int[] greedy) {}

    private PagedRequests() {}

    /** Admit, then the prompt from the cached position on, then {@code count} greedy tokens; released at the end. */
    static Generation admitted(AttentionFleet fleet, int[] prompt, int count) {
        Sequence sequence = fleet.model.newSequence();
        try {
            int cached = fleet.attention.admit(sequence, prompt);
            float[] logits = fleet.model.step(List.of(StepChunk.next(sequence, Arrays.copyOfRange(prompt, cached, prompt.length),
                    false))).getFirst()[0];
            return new Generation(cached, logits, decode(fleet, sequence, logits, count));
        } finally {
            fleet.model.release(sequence);
        }
    }

    /** The whole prompt computed (no admit: nothing restored), then {@code count} greedy tokens; released at the end. */
    static Generation fromScratch(AttentionFleet fleet, int[] prompt, int count) {
        Sequence sequence = fleet.model.newSequence();
        try {
            float[] logits = fleet.model.step(List.of(StepChunk.next(sequence, prompt, false))).getFirst()[0];
            return new Generation(0, logits, decode(fleet, sequence, logits, count));
        } finally {
            fleet.model.release(sequence);
        }
    }

    private static int[] decode(AttentionFleet fleet, Sequence sequence, float[] logits, int count) {
        int[] ids = new int[count];
        for (int i = 0; i < count; i++) {
            ids[i] = Logits.argmax(logits);
            if (i + 1 < count) {
                logits = fleet.model.step(List.of(StepChunk.next(sequence, new int[] {ids[i]}, false))).getFirst()[0];
            }
        }
        return ids;
    }

    /** Waits (up to 10 s) until no instance has a page waiting to be published. */
    static void awaitPublished(RemoteAttention attention) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (attention.stats().stream().anyMatch(s -> s.pages().publishesPending() > 0)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("pages still waiting to be published after 10 s: " + attention.stats());
            }
            sleep(10);
        }
    }

    /** The prompt's first {@code shared} tokens, then {@code extra} other tokens from {@code seed}. */
    static int[] sharingPrefix(int[] prompt, int shared, int extra, long seed, int vocab) {
        int[] tokens = Arrays.copyOf(prompt, shared + extra);
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = shared; i < tokens.length; i++) {
            int token;
            do {
                token = random.nextInt(vocab);
            } while (i < prompt.length && token == prompt[i]);   // differs from the prompt right where the sharing ends
            tokens[i] = token;
        }
        return tokens;
    }

    /** {@code prompt}'s first {@code shared} tokens and {@code extra} others, chosen clear of knife edges on {@code model}. */
    static int[] clearSharing(Transformer model, int[] prompt, int shared, int extra, int greedy) {
        for (long seed = 1; seed < 50; seed++) {
            int[] tokens = sharingPrefix(prompt, shared, extra, seed, model.config().vocabSize());
            if (KnifeEdges.greedy(model, tokens, greedy).clear()) {
                return tokens;
            }
        }
        throw new AssertionError("no prompt sharing " + shared + " tokens is clear of knife edges");
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
