package io.moefleet.router.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.chat.generation.ChatRequest;
import io.moefleet.router.scheduler.Generation;
import io.moefleet.router.scheduler.TokenPolicy;
import io.moefleet.sampling.SamplingParams;
import io.moefleet.tokenizer.StreamingDecoder;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;

/** {@code POST /v1/completions}: one prompt, as text or as token ids; {@code max_tokens} defaults to 16, as OpenAI's. */
final class CompletionsHandler {

    static final int DEFAULT_MAX_TOKENS = 16;

    private final Vertx vertx;
    private final ServedModel served;

    CompletionsHandler(Vertx vertx, ServedModel served) {
        this.vertx = vertx;
        this.served = served;
    }

    void handle(RoutingContext ctx) {
        ObjectNode body = Json.body(ctx.body().buffer());
        served.requireName(Json.string(body, "model").orElseThrow(() -> ApiException.badRequest("'model' is required")));
        GenerationOptions options = GenerationOptions.fromJson(body, false, served.vocabSize());
        SamplingParams sampling = ChatRequest.sampling(body);
        RequestTrace.of(ctx).request("text_completion", body);
        if (!Json.present(body, "prompt")) {
            throw ApiException.badRequest("'prompt' is required: a string or a list of token ids");
        }
        JsonNode prompt = body.get("prompt");
        Context context = vertx.getOrCreateContext();
        vertx.executeBlocking(() -> PromptTokens.of(prompt, served), false)
                .onSuccess(tokens -> ApiServer.guarded(ctx, false, () -> start(ctx, context, tokens, options, sampling)))
                .onFailure(error -> ApiErrors.send(ctx.response(), ApiErrors.of(error), false));
    }

    private void start(RoutingContext ctx, Context context, int[] prompt, GenerationOptions options, SamplingParams sampling) {
        int room = served.contextLength() - prompt.length;
        if (room < 1) {
            throw ApiException.badRequest("the prompt's " + prompt.length + " tokens fill the model's context of "
                    + served.contextLength() + " tokens");
        }
        int maxTokens = Math.min(options.maxTokens().orElse(DEFAULT_MAX_TOKENS), room);
        RequestTrace trace = RequestTrace.of(ctx);
        CompletionResponse response = new CompletionResponse(ctx.response(), trace, options, served.name(), prompt.length,
                new TokenText(served.tokenizer(), options.tokenIdsAsText()));
        for (int i = 0; i < options.n(); i++) {
            CompletionChoice choice = new CompletionChoice(i, new StreamingDecoder(served.tokenizer()),
                    new StopStrings(options.stop()), context, response);
            Generation generation = new Generation(prompt, GenerationOptions.forChoice(sampling, i), maxTokens,
                    options.endTokens(served.tokenizer().sequenceMarkers().eos()), Math.min(options.minTokens(), maxTokens),
                    options.logprobs(), TokenPolicy.NONE, choice);
            try {
                response.track(served.scheduler().submit(generation, trace.context()));
            } catch (RuntimeException e) {
                response.onError(e);
                return;
            }
        }
    }
}
