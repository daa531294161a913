package io.moefleet.router.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.chat.ChatPrompt;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;

/**
 * vLLM's {@code POST /tokenize} (a prompt, or messages rendered with the chat template) and {@code POST /detokenize}.
 * Encoding and template rendering run on a worker.
 */
final class TokenizeHandler {

    private final Vertx vertx;
    private final ServedModel served;

    TokenizeHandler(Vertx vertx, ServedModel served) {
        this.vertx = vertx;
        this.served = served;
    }

    void tokenize(RoutingContext ctx) {
        ObjectNode body = Json.body(ctx.body().buffer());
        Json.string(body, "model").ifPresent(served::requireName);
        boolean chat = Json.present(body, "messages");
        if (!chat && !Json.present(body, "prompt")) {
            throw ApiException.badRequest("/tokenize needs 'prompt' (text) or 'messages' (a chat)");
        }
        vertx.executeBlocking(() -> chat ? served.encoder().encode(ChatPrompt.fromJson(body)) : PromptTokens.of(body.get("prompt"), served), false)
                .onSuccess(ids -> {
                    ObjectNode out = Json.object();
                    out.put("count", ids.length);
                    out.put("max_model_len", served.contextLength());
                    ArrayNode tokens = out.putArray("tokens");
                    for (int id : ids) {
                        tokens.add(id);
                    }
                    ctx.response().putHeader("content-type", "application/json").end(Json.write(out));
                })
                .onFailure(error -> ApiErrors.send(ctx.response(), ApiErrors.of(error), false));
    }

    void detokenize(RoutingContext ctx) {
        ObjectNode body = Json.body(ctx.body().buffer());
        Json.string(body, "model").ifPresent(served::requireName);
        JsonNode tokens = body.get("tokens");
        if (tokens == null || !tokens.isArray()) {
            throw ApiException.badRequest("/detokenize needs 'tokens', a list of token ids");
        }
        int[] ids = PromptTokens.of(tokens, served);
        vertx.executeBlocking(() -> served.tokenizer().decode(ids), false)
                .onSuccess(text -> ctx.response().putHeader("content-type", "application/json")
                        .end(Json.write(Json.object().put("prompt", text))))
                .onFailure(error -> ApiErrors.send(ctx.response(), ApiErrors.of(error), false));
    }
}
