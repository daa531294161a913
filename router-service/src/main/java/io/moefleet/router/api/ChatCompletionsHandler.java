package io.moefleet.router.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.chat.generation.ChatRequest;
import io.moefleet.chat.generation.ChatTurn;
import io.moefleet.chat.output.ChatDelta;
import io.moefleet.router.scheduler.Generation;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /v1/chat/completions}. The body is checked on the event loop; the template rendering, encoding and
 * grammar building of each choice's turn run on a worker; then every choice joins the scheduler, and its deltas come
 * back to the event loop.
 */
final class ChatCompletionsHandler {

    private final Vertx vertx;
    private final ServedModel served;

    ChatCompletionsHandler(Vertx vertx, ServedModel served) {
        this.vertx = vertx;
        this.served = served;
    }

    void handle(RoutingContext ctx) {
        ObjectNode body = Json.body(ctx.body().buffer());
        served.requireName(Json.string(body, "model").orElseThrow(() -> ApiException.badRequest("'model' is required")));
        GenerationOptions options = GenerationOptions.fromJson(body, true, served.vocabSize());
        ChatRequest request = ChatRequest.fromJson(body);
        RequestTrace.of(ctx).request("chat", body);
        Context context = vertx.getOrCreateContext();
        vertx.executeBlocking(() -> prepare(request, options), false)
                .onSuccess(turns -> ApiServer.guarded(ctx, false, () -> start(ctx, context, turns, options)))
                .onFailure(error -> ApiErrors.send(ctx.response(), ApiErrors.of(error), false));
    }

    private List<ChatTurn> prepare(ChatRequest request, GenerationOptions options) {
        List<ChatTurn> turns = new ArrayList<>();
        for (int i = 0; i < options.n(); i++) {
            turns.add(served.chat().prepare(request));
        }
        return turns;
    }

    private void start(RoutingContext ctx, Context context, List<ChatTurn> turns, GenerationOptions options) {
        RequestTrace trace = RequestTrace.of(ctx);
        ChatResponse response = new ChatResponse(ctx.response(), trace, options, served.name(), turns.getFirst().prompt().length,
                new TokenText(served.tokenizer(), options.tokenIdsAsText()));
        for (int i = 0; i < turns.size(); i++) {
            ChatTurn turn = turns.get(i);
            List<ChatDelta> before = new ArrayList<>();
            turn.begin(before::add);
            response.onStart(i, before);
            ChatChoice choice = new ChatChoice(i, turn, new StopStrings(options.stop()), context, response, options.ignoreEos());
            Generation generation = new Generation(turn.prompt(), GenerationOptions.forChoice(turn.request().sampling(), i),
                    turn.maxNewTokens(), options.endTokens(turn.endTokens()), Math.min(options.minTokens(), turn.maxNewTokens()),
                    options.logprobs(), choice, choice);
            try {
                response.track(served.scheduler().submit(generation, trace.context()));
            } catch (RuntimeException e) {
                response.onError(e);
                return;
            }
        }
    }
}
