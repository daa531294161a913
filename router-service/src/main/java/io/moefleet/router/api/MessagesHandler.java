package io.moefleet.router.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.chat.generation.ChatTurn;
import io.moefleet.router.scheduler.Generation;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * {@code POST /v1/messages}, Anthropic's Messages API, on the chat path: the body is checked and translated on the
 * event loop ({@link AnthropicRequest}), the turn is prepared on a worker (template, encoding, grammar), then it joins
 * the scheduler and its deltas come back to the event loop as content blocks. Errors are in Anthropic's shape.
 */
final class MessagesHandler {

    private final Vertx vertx;
    private final ServedModel served;

    MessagesHandler(Vertx vertx, ServedModel served) {
        this.vertx = vertx;
        this.served = served;
    }

    void handle(RoutingContext ctx) {
        ObjectNode body = Json.body(ctx.body().buffer());
        served.requireName(Json.string(body, "model").orElseThrow(() -> ApiException.badRequest("'model' is required")));
        AnthropicRequest request = AnthropicRequest.fromJson(body);
        RequestTrace.of(ctx).request("chat", body);
        Context context = vertx.getOrCreateContext();
        vertx.executeBlocking(() -> served.chat().prepare(request.chat()), false)
                .onSuccess(turn -> ApiServer.guarded(ctx, true, () -> start(ctx, context, turn, request)))
                .onFailure(error -> ApiErrors.send(ctx.response(), ApiErrors.of(error), true));
    }

    private void start(RoutingContext ctx, Context context, ChatTurn turn, AnthropicRequest request) {
        RequestTrace trace = RequestTrace.of(ctx);
        MessagesResponse response = new MessagesResponse(ctx.response(), trace, request.stream(), served.name(), turn.prompt().length);
        turn.begin(prefill -> { });      // a prefilled assistant message is read, not repeated: Anthropic answers with what follows
        ChatChoice choice = new ChatChoice(0, turn, new StopStrings(request.stopSequences()), context, response, false);
        Set<Integer> ends = new LinkedHashSet<>();
        for (int end : turn.endTokens()) {
            ends.add(end);
        }
        Generation generation = new Generation(turn.prompt(), turn.request().sampling(), turn.maxNewTokens(), ends, 0, -1,
                choice, choice);
        response.track(served.scheduler().submit(generation, trace.context()));
    }
}
