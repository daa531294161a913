package io.moefleet.router.api;

import io.moefleet.chat.generation.FinishReason;
import io.moefleet.router.scheduler.GenerationListener;
import io.moefleet.router.scheduler.TokenLogprobs;
import io.moefleet.tokenizer.StreamingDecoder;
import io.vertx.core.Context;

/** One choice of a text completion on the scheduler's side: tokens decoded and cut at a stop string, in order. */
final class CompletionChoice implements GenerationListener {

    private final int index;
    private final StreamingDecoder decoder;
    private final StopStrings stops;
    private final Context context;
    private final CompletionResponse response;

    CompletionChoice(int index, StreamingDecoder decoder, StopStrings stops, Context context, CompletionResponse response) {
        this.index = index;
        this.decoder = decoder;
        this.stops = stops;
        this.context = context;
        this.response = response;
    }

    @Override
    public boolean onToken(int token, TokenLogprobs logprobs) {
        String text = stops.push(decoder.push(token));
        context.runOnContext(v -> response.onText(index, text, logprobs));
        return !stops.stopped();
    }

    @Override
    public void onFinish(FinishReason reason, int generated) {
        String text = stops.push(decoder.flush()) + stops.flush();
        context.runOnContext(v -> response.onFinish(index, text, reason, generated));
    }

    @Override
    public void onError(RuntimeException error) {
        context.runOnContext(v -> response.onError(error));
    }
}
