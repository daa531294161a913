package io.moefleet.router.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.chat.output.ChatDelta;
import io.moefleet.router.scheduler.Scheduler;
import io.moefleet.router.scheduler.TokenLogprobs;
import io.vertx.core.http.HttpServerResponse;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * An Anthropic message's response, assembled on its event loop: when streaming, {@code message_start}, the content
 * blocks' events as deltas arrive ({@link MessagesContent}), then {@code message_delta} (stop reason, usage) and
 * {@code message_stop}; else one {@code message} when the generation has finished.
 */
final class MessagesResponse implements TurnSink {

    private final HttpServerResponse http;
    private final String id = "msg_" + UUID.randomUUID().toString().replace("-", "");
    private final String model;
    private final int inputTokens;
    private final SseStream stream;
    private final MessagesContent content;
    private final ClientGenerations generations;
    private boolean started;
    private boolean failed;

    MessagesResponse(HttpServerResponse http, RequestTrace trace, boolean streaming, String model, int inputTokens) {
        this.http = http;
        this.model = model;
        this.inputTokens = inputTokens;
        this.stream = streaming ? new SseStream(http) : null;
        this.content = new MessagesContent(streaming ? this::send : null);
        this.generations = new ClientGenerations(http, trace);
    }

    void track(Scheduler.Handle handle) {
        generations.track(handle);
    }

    @Override
    public void onDeltas(int choice, List<ChatDelta> deltas, TokenLogprobs logprobs) {
        if (failed) {
            return;
        }
        begin();
        deltas.forEach(content::push);
    }

    @Override
    public void onFinish(int choice, List<ChatDelta> deltas, Ending ending, int outputTokens) {
        if (failed) {
            return;
        }
        Optional<String> stopSequence = ending.stopSequence();
        MessagesStopReason reason = MessagesStopReason.of(ending.reason(), stopSequence.isPresent(), ending.message());
        generations.trace().finished(reason.wireName());
        generations.trace().answered(id, inputTokens, outputTokens);
        begin();
        deltas.forEach(content::push);
        content.finish();
        if (stream != null) {
            ObjectNode event = Json.object().put("type", "message_delta");
            stopFields(event.putObject("delta"), reason, stopSequence);
            event.putObject("usage").put("input_tokens", inputTokens).put("output_tokens", outputTokens);
            send("message_delta", event);
            send("message_stop", Json.object().put("type", "message_stop"));
            stream.end();
        } else {
            ObjectNode message = message();
            message.set("content", content.json());
            stopFields(message, reason, stopSequence);
            message.putObject("usage").put("input_tokens", inputTokens).put("output_tokens", outputTokens);
            http.putHeader("content-type", "application/json").end(Json.write(message));
        }
    }

    @Override
    public void onError(RuntimeException error) {
        if (failed) {
            return;
        }
        failed = true;
        generations.cancelAll();
        ApiErrors.send(http, ApiErrors.of(error), true);
    }

    /**
     * The stream's head: sent with the first token rather than at once, so that a request turned away while it waited
     * for a place still gets its own status (429, 503) instead of an error event.
     */
    private void begin() {
        if (stream == null || started) {
            return;
        }
        started = true;
        ObjectNode message = message();
        message.putArray("content");
        message.putNull("stop_reason");
        message.putNull("stop_sequence");
        message.putObject("usage").put("input_tokens", inputTokens).put("output_tokens", 0);
        ObjectNode event = Json.object().put("type", "message_start");
        event.set("message", message);
        send("message_start", event);
        send("ping", Json.object().put("type", "ping"));
    }

    private ObjectNode message() {
        return Json.object().put("id", id).put("type", "message").put("role", "assistant").put("model", model);
    }

    private static void stopFields(ObjectNode json, MessagesStopReason reason, Optional<String> stopSequence) {
        json.put("stop_reason", reason.wireName());
        if (stopSequence.isPresent()) {
            json.put("stop_sequence", stopSequence.get());
        } else {
            json.putNull("stop_sequence");
        }
    }

    private void send(String type, ObjectNode event) {
        stream.send(type, Json.write(event));
    }

}
