package io.moefleet.router.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.chat.generation.FinishReason;
import io.moefleet.chat.output.AssistantMessage;
import io.moefleet.chat.output.ChatDelta;
import io.moefleet.chat.output.ToolCall;
import io.moefleet.router.scheduler.Scheduler;
import io.moefleet.router.scheduler.TokenLogprobs;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayList;
import java.util.List;

/**
 * A chat completion's response, assembled on its event loop from its choices: {@code chat.completion.chunk} events as
 * deltas arrive when streaming, else one {@code chat.completion} when every choice has finished.
 */
final class ChatResponse implements TurnSink {

    private final HttpServerResponse http;
    private final GenerationOptions options;
    private final String id = ApiIds.next("chatcmpl");
    private final long created = System.currentTimeMillis() / 1000;
    private final String model;
    private final int promptTokens;
    private final TokenText tokenText;
    private final SseStream stream;
    private final boolean[] roleSent;
    private final ObjectNode[] finished;
    private final List<List<ObjectNode>> logprobs = new ArrayList<>();
    private final ClientGenerations generations;
    private int completionTokens;
    private int done;
    private boolean failed;

    ChatResponse(HttpServerResponse http, RequestTrace trace, GenerationOptions options, String model, int promptTokens,
            TokenText tokenText) {
        this.http = http;
        this.options = options;
        this.model = model;
        this.promptTokens = promptTokens;
        this.tokenText = tokenText;
        this.stream = options.stream() ? new SseStream(http) : null;
        this.roleSent = new boolean[options.n()];
        this.finished = new ObjectNode[options.n()];
        for (int i = 0; i < options.n(); i++) {
            logprobs.add(new ArrayList<>());
        }
        this.generations = new ClientGenerations(http, trace);
    }

    void track(Scheduler.Handle handle) {
        generations.track(handle);
    }

    /** A choice's deltas before its first token (a continued final message). */
    void onStart(int index, List<ChatDelta> deltas) {
        if (stream != null) {
            for (ChatDelta delta : deltas) {
                sendDelta(index, delta(delta), null, null);
            }
        }
    }

    @Override
    public void onDeltas(int index, List<ChatDelta> deltas, TokenLogprobs tokenLogprobs) {
        if (failed) {
            return;
        }
        ObjectNode entry = tokenLogprobs == null ? null : tokenText.chatEntry(tokenLogprobs);
        if (stream == null) {
            if (entry != null) {
                logprobs.get(index).add(entry);
            }
            return;
        }
        if (deltas.isEmpty() && entry != null) {
            sendDelta(index, Json.object(), entry, null);
        }
        for (ChatDelta delta : deltas) {
            sendDelta(index, delta(delta), entry, null);
            entry = null;
        }
    }

    @Override
    public void onFinish(int index, List<ChatDelta> deltas, Ending ending, int generated) {
        if (failed) {
            return;
        }
        AssistantMessage message = ending.message();
        FinishReason reason = ending.reason();
        completionTokens += generated;
        generations.trace().finished(reason.openAiName());
        if (stream != null) {
            for (ChatDelta delta : deltas) {
                sendDelta(index, delta(delta), null, null);
            }
            sendDelta(index, Json.object(), null, reason);
        } else {
            finished[index] = choice(index, message, reason);
        }
        if (++done < options.n()) {
            return;
        }
        generations.trace().answered(id, promptTokens, completionTokens);
        if (stream != null) {
            if (options.includeUsage()) {
                ObjectNode chunk = chunk();
                chunk.putArray("choices");
                chunk.set("usage", Json.usage(promptTokens, completionTokens));
                stream.send(null, Json.write(chunk));
            }
            stream.send(null, "[DONE]");
            stream.end();
        } else {
            ObjectNode body = Json.object();
            body.put("id", id);
            body.put("object", "chat.completion");
            body.put("created", created);
            body.put("model", model);
            ArrayNode choices = body.putArray("choices");
            for (ObjectNode choice : finished) {
                choices.add(choice);
            }
            body.set("usage", Json.usage(promptTokens, completionTokens));
            http.putHeader("content-type", "application/json").end(Json.write(body));
        }
    }

    @Override
    public void onError(RuntimeException error) {
        if (failed) {
            return;
        }
        failed = true;
        generations.cancelAll();
        ApiErrors.send(http, ApiErrors.of(error), false);
    }

    private ObjectNode choice(int index, AssistantMessage message, FinishReason reason) {
        ObjectNode choice = Json.object();
        choice.put("index", index);
        ObjectNode json = choice.putObject("message");
        json.put("role", "assistant");
        if (message.content().isEmpty() && !message.toolCalls().isEmpty()) {
            json.putNull("content");
        } else {
            json.put("content", message.content());
        }
        if (!message.reasoning().isEmpty()) {
            json.put("reasoning_content", message.reasoning());
            json.put("reasoning", message.reasoning());
        }
        if (!message.toolCalls().isEmpty()) {
            ArrayNode calls = json.putArray("tool_calls");
            for (ToolCall call : message.toolCalls()) {
                ObjectNode item = calls.addObject();
                item.put("id", call.id());
                item.put("type", "function");
                item.putObject("function").put("name", call.name()).put("arguments", call.arguments());
            }
        }
        if (options.logprobs() >= 0) {
            ArrayNode content = choice.putObject("logprobs").putArray("content");
            logprobs.get(index).forEach(content::add);
        } else {
            choice.putNull("logprobs");
        }
        choice.put("finish_reason", reason.openAiName());
        return choice;
    }

    private void sendDelta(int index, ObjectNode delta, ObjectNode logprobEntry, FinishReason reason) {
        if (!roleSent[index]) {
            delta.put("role", "assistant");
            roleSent[index] = true;
        }
        ObjectNode chunk = chunk();
        ObjectNode choice = chunk.putArray("choices").addObject();
        choice.put("index", index);
        choice.set("delta", delta);
        if (logprobEntry != null) {
            choice.putObject("logprobs").putArray("content").add(logprobEntry);
        } else {
            choice.putNull("logprobs");
        }
        if (reason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", reason.openAiName());
        }
        stream.send(null, Json.write(chunk));
    }

    private ObjectNode chunk() {
        ObjectNode chunk = Json.object();
        chunk.put("id", id);
        chunk.put("object", "chat.completion.chunk");
        chunk.put("created", created);
        chunk.put("model", model);
        return chunk;
    }

    private static ObjectNode delta(ChatDelta delta) {
        ObjectNode json = Json.object();
        switch (delta) {
            case ChatDelta.Content content -> json.put("content", content.text());
            case ChatDelta.Reasoning reasoning -> json.put("reasoning_content", reasoning.text()).put("reasoning", reasoning.text());
            case ChatDelta.ToolCallStart start -> {
                ObjectNode call = json.putArray("tool_calls").addObject();
                call.put("index", start.index());
                call.put("id", start.id());
                call.put("type", "function");
                call.putObject("function").put("name", start.name()).put("arguments", "");
            }
            case ChatDelta.ToolCallArguments arguments -> {
                ObjectNode call = json.putArray("tool_calls").addObject();
                call.put("index", arguments.index());
                call.putObject("function").put("arguments", arguments.text());
            }
        }
        return json;
    }

}
