package io.moefleet.router.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.chat.generation.FinishReason;
import io.moefleet.router.scheduler.Scheduler;
import io.moefleet.router.scheduler.TokenLogprobs;
import io.vertx.core.http.HttpServerResponse;

/**
 * A text completion's response, assembled on its event loop: {@code text_completion} chunks while streaming, else one
 * object once every choice has finished; logprobs in the legacy completions shape (tokens, token_logprobs,
 * top_logprobs, text_offset).
 */
final class CompletionResponse {

    private final HttpServerResponse http;
    private final GenerationOptions options;
    private final String id = ApiIds.next("cmpl");
    private final long created = System.currentTimeMillis() / 1000;
    private final String model;
    private final int promptTokens;
    private final TokenText tokenText;
    private final SseStream stream;
    private final StringBuilder[] texts;
    private final ObjectNode[] logprobs;
    private final FinishReason[] reasons;
    private final ClientGenerations generations;
    private int completionTokens;
    private int done;
    private boolean failed;

    CompletionResponse(HttpServerResponse http, RequestTrace trace, GenerationOptions options, String model, int promptTokens,
            TokenText tokenText) {
        this.http = http;
        this.options = options;
        this.model = model;
        this.promptTokens = promptTokens;
        this.tokenText = tokenText;
        this.stream = options.stream() ? new SseStream(http) : null;
        this.texts = new StringBuilder[options.n()];
        this.logprobs = new ObjectNode[options.n()];
        this.reasons = new FinishReason[options.n()];
        for (int i = 0; i < options.n(); i++) {
            texts[i] = new StringBuilder();
            logprobs[i] = options.logprobs() >= 0 ? emptyLogprobs() : null;
        }
        this.generations = new ClientGenerations(http, trace);
    }

    void track(Scheduler.Handle handle) {
        generations.track(handle);
    }

    void onText(int index, String text, TokenLogprobs tokenLogprobs) {
        if (failed) {
            return;
        }
        ObjectNode pieceLogprobs = null;
        if (tokenLogprobs != null) {
            pieceLogprobs = stream != null ? emptyLogprobs() : logprobs[index];
            addLogprobs(pieceLogprobs, tokenLogprobs, texts[index].length());
        }
        texts[index].append(text);
        if (stream != null && (!text.isEmpty() || pieceLogprobs != null)) {
            stream.send(null, Json.write(chunk(index, text, pieceLogprobs, null)));
        }
    }

    void onFinish(int index, String text, FinishReason reason, int generated) {
        if (failed) {
            return;
        }
        texts[index].append(text);
        reasons[index] = reason;
        completionTokens += generated;
        generations.trace().finished(reason.openAiName());
        if (stream != null) {
            stream.send(null, Json.write(chunk(index, text, null, reason)));
        }
        if (++done < options.n()) {
            return;
        }
        generations.trace().answered(id, promptTokens, completionTokens);
        if (stream != null) {
            if (options.includeUsage()) {
                ObjectNode usageChunk = header();
                usageChunk.putArray("choices");
                usageChunk.set("usage", Json.usage(promptTokens, completionTokens));
                stream.send(null, Json.write(usageChunk));
            }
            stream.send(null, "[DONE]");
            stream.end();
            return;
        }
        ObjectNode body = header();
        ArrayNode choices = body.putArray("choices");
        for (int i = 0; i < options.n(); i++) {
            choices.add(choice(i, texts[i].toString(), logprobs[i], reasons[i]));
        }
        body.set("usage", Json.usage(promptTokens, completionTokens));
        http.putHeader("content-type", "application/json").end(Json.write(body));
    }

    void onError(RuntimeException error) {
        if (failed) {
            return;
        }
        failed = true;
        generations.cancelAll();
        ApiErrors.send(http, ApiErrors.of(error), false);
    }

    private ObjectNode chunk(int index, String text, ObjectNode pieceLogprobs, FinishReason reason) {
        ObjectNode chunk = header();
        chunk.putArray("choices").add(choice(index, text, pieceLogprobs, reason));
        return chunk;
    }

    private static ObjectNode choice(int index, String text, ObjectNode logprobs, FinishReason reason) {
        ObjectNode choice = Json.object();
        choice.put("index", index);
        choice.put("text", text);
        if (logprobs == null) {
            choice.putNull("logprobs");
        } else {
            choice.set("logprobs", logprobs);
        }
        if (reason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", reason.openAiName());
        }
        return choice;
    }

    private static ObjectNode emptyLogprobs() {
        ObjectNode logprobs = Json.object();
        logprobs.putArray("tokens");
        logprobs.putArray("token_logprobs");
        logprobs.putArray("top_logprobs");
        logprobs.putArray("text_offset");
        return logprobs;
    }

    private void addLogprobs(ObjectNode into, TokenLogprobs token, int textOffset) {
        ((ArrayNode) into.get("tokens")).add(tokenText.of(token.token()));
        ((ArrayNode) into.get("token_logprobs")).add(token.logprob());
        ObjectNode top = ((ArrayNode) into.get("top_logprobs")).addObject();
        for (TokenLogprobs.Candidate candidate : token.top()) {
            top.put(tokenText.of(candidate.token()), candidate.logprob());
        }
        ((ArrayNode) into.get("text_offset")).add(textOffset);
    }

    private ObjectNode header() {
        ObjectNode header = Json.object();
        header.put("id", id);
        header.put("object", "text_completion");
        header.put("created", created);
        header.put("model", model);
        return header;
    }

}
