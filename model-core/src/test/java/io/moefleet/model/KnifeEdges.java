package io.moefleet.model;

import io.moefleet.model.forward.ForwardObserver;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.sampling.Logits;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random weights have near-ties: comparing greedy ids across two computations that are not bitwise equal is only
 * meaningful on prompts where no decision sits on a knife edge. This runs greedy decoding and records how close
 * every decision came to flipping, as the golden cases were chosen.
 */
public final class KnifeEdges {

    public static final float MIN_LOGIT_GAP = 1e-3f;
    public static final float MIN_ROUTER_MARGIN = 1e-5f;

    /** The greedy ids and the smallest margins seen: top-1 minus top-2 logit per step, router choice margins per token-layer. */
    public record Report(int[] greedy, float minLogitGap, float minRouterMargin) {
        public boolean clear() {
            return minLogitGap >= MIN_LOGIT_GAP && minRouterMargin >= MIN_ROUTER_MARGIN;
        }
    }

    private KnifeEdges() {}

    public static Report greedy(Transformer model, int[] prompt, int count) {
        float[] routerMargin = {Float.POSITIVE_INFINITY};
        model.setObserver((layer, position, routing) ->
                routerMargin[0] = Math.min(routerMargin[0], Math.min(routing.expertMargin(), routing.groupMargin())));
        try {
            Sequence seq = model.newSequence();
            float[] logits = model.step(List.of(StepChunk.next(seq, prompt, false))).getFirst()[0];
            int[] ids = new int[count];
            float minGap = Float.POSITIVE_INFINITY;
            for (int i = 0; i < count; i++) {
                ids[i] = Logits.argmax(logits);
                minGap = Math.min(minGap, gapToRunnerUp(logits, ids[i]));
                if (i + 1 < count) {
                    logits = model.step(List.of(StepChunk.next(seq, new int[] {ids[i]}, false))).getFirst()[0];
                }
            }
            return new Report(ids, minGap, routerMargin[0]);
        } finally {
            model.setObserver(ForwardObserver.NONE);
        }
    }

    /** The first of up to 50 seeded random prompts whose greedy continuation is clear of knife edges on {@code model}. */
    public static int[] clearPrompt(Transformer model, long seed, int length, int count) {
        SplittableRandom random = new SplittableRandom(seed);
        for (int attempt = 0; attempt < 50; attempt++) {
            int[] prompt = random.ints(length, 0, model.config().vocabSize()).toArray();
            if (greedy(model, prompt, count).clear()) {
                return prompt;
            }
        }
        throw new AssertionError("no prompt clear of knife edges in 50 attempts (seed " + seed + ")");
    }

    private static float gapToRunnerUp(float[] logits, int best) {
        float second = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            if (i != best) {
                second = Math.max(second, logits[i]);
            }
        }
        return logits[best] - second;
    }
}
