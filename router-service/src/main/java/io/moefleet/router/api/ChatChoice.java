package io.moefleet.router.api;

import io.moefleet.chat.generation.ChatTurn;
import io.moefleet.chat.generation.FinishReason;
import io.moefleet.chat.output.AssistantMessage;
import io.moefleet.chat.output.ChatDelta;
import io.moefleet.grammar.AllowedTokens;
import io.moefleet.router.scheduler.GenerationListener;
import io.moefleet.router.scheduler.TokenLogprobs;
import io.moefleet.router.scheduler.TokenPolicy;
import io.moefleet.sampling.TokenMask;
import io.vertx.core.Context;
import java.util.ArrayList;
import java.util.List;

/**
 * One chat turn being generated (a choice of a chat completion, or an Anthropic message) on the scheduler's side: the
 * turn's grammar and biases constrain each token ({@link TokenPolicy}); each token is decoded, cut at a stop string and
 * parsed into deltas there, in order, and the deltas are handed to the response ({@link TurnSink}) on its event loop.
 *
 * <p>With {@code ignore_eos} the end-of-turn ids are no stop tokens: the mask keeps them out while the grammar allows
 * anything else, so the answer runs on to its length; where the grammar allows nothing but an end (a whole JSON answer
 * or tool call), the end is sampled and ends the turn, since nothing can follow it.
 */
final class ChatChoice implements TokenPolicy, GenerationListener {

    private final int index;
    private final ChatTurn turn;
    private final StopStrings stops;
    private final Context context;
    private final TurnSink response;
    private final boolean ignoreEos;

    ChatChoice(int index, ChatTurn turn, StopStrings stops, Context context, TurnSink response, boolean ignoreEos) {
        this.index = index;
        this.turn = turn;
        this.stops = stops;
        this.context = context;
        this.response = response;
        this.ignoreEos = ignoreEos;
    }

    @Override
    public TokenMask mask(int step) {
        AllowedTokens allowed = turn.allowedTokens(step);
        if (!ignoreEos) {
            return allowed;
        }
        int allowedEnds = 0;
        for (int end : turn.endTokens()) {
            if (allowed.allowed(end)) {
                allowedEnds++;
            }
        }
        return allowed.count() > allowedEnds ? id -> !turn.isEnd(id) && allowed.allowed(id) : allowed;
    }

    @Override
    public float[] adjust(float[] logits, int step) {
        return turn.biased(logits, step);
    }

    @Override
    public void accept(int token) {
        turn.accept(token);
    }

    @Override
    public boolean onToken(int token, TokenLogprobs logprobs) {
        if (turn.isEnd(token)) {
            return false;                                    // ignore_eos, and the grammar allowed only an end: the turn is whole
        }
        List<ChatDelta> deltas = new ArrayList<>();
        turn.pushText(stops.push(turn.decode(token)), deltas::add);
        context.runOnContext(v -> response.onDeltas(index, deltas, logprobs));
        return !stops.stopped();
    }

    @Override
    public void onFinish(FinishReason reason, int generated) {
        List<ChatDelta> deltas = new ArrayList<>();
        turn.pushText(stops.push(turn.flushText()), deltas::add);
        turn.pushText(stops.flush(), deltas::add);
        AssistantMessage message = turn.finish(deltas::add);
        TurnSink.Ending ending = new TurnSink.Ending(message, ChatTurn.finishReason(reason, message), stops.matched());
        context.runOnContext(v -> response.onFinish(index, deltas, ending, generated));
    }

    @Override
    public void onError(RuntimeException error) {
        context.runOnContext(v -> response.onError(error));
    }
}
