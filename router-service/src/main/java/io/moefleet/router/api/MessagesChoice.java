package io.moefleet.router.api;

import io.moefleet.chat.generation.ChatTurn;
import io.moefleet.chat.generation.FinishReason;
import io.moefleet.chat.output.AssistantMessage;
import io.moefleet.chat.output.ChatDelta;
import io.moefleet.router.scheduler.GenerationListener;
import io.moefleet.router.scheduler.TokenLogprobs;
import io.moefleet.router.scheduler.TokenPolicy;
import io.moefleet.sampling.TokenMask;
import io.vertx.core.Context;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An Anthropic message being generated, on the scheduler's side (as {@link ChatChoice} is for a chat completion): the
 * turn's grammar and biases constrain each token; each token is decoded, cut at a stop sequence and parsed into deltas
 * there, in order, and the deltas are handed to the response on its event loop. At the end it tells which stop
 * sequence, if any, was met.
 */
final class MessagesChoice implements TokenPolicy, GenerationListener {

    private final ChatTurn turn;
    private final StopStrings stops;
    private final Context context;
    private final MessagesResponse response;

    MessagesChoice(ChatTurn turn, StopStrings stops, Context context, MessagesResponse response) {
        this.turn = turn;
        this.stops = stops;
        this.context = context;
        this.response = response;
    }

    @Override
    public TokenMask mask(int step) {
        return turn.allowedTokens(step);
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
        List<ChatDelta> deltas = new ArrayList<>();
        turn.pushText(stops.push(turn.decode(token)), deltas::add);
        context.runOnContext(v -> response.onDeltas(deltas));
        return !stops.stopped();
    }

    @Override
    public void onFinish(FinishReason reason, int generated) {
        List<ChatDelta> deltas = new ArrayList<>();
        turn.pushText(stops.push(turn.flushText()), deltas::add);
        turn.pushText(stops.flush(), deltas::add);
        AssistantMessage message = turn.finish(deltas::add);
        Optional<String> stopSequence = stops.matched();
        MessagesStopReason stop = MessagesStopReason.of(reason, stopSequence.isPresent(), message);
        context.runOnContext(v -> response.onFinish(deltas, stop, stopSequence, generated));
    }

    @Override
    public void onError(RuntimeException error) {
        context.runOnContext(v -> response.onError(error));
    }
}
