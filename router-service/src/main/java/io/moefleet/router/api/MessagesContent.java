package io.moefleet.router.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.chat.output.ChatDelta;
import java.util.ArrayList;
import java.util.List;

/**
 * An answer's Anthropic content blocks, built from its deltas in the order they come: a {@code thinking} block for
 * reasoning, {@code text} blocks for content, a {@code tool_use} block per call. When streaming, each block's
 * {@code content_block_start}, deltas and {@code content_block_stop} go out as they happen; a whole message is the
 * same blocks, so both forms agree.
 *
 * <p>A thinking or text block opens at its first visible character: whitespace alone (the layout between reasoning,
 * text and a tool-calls section) makes no block, and whitespace before a block's first character is kept at its start.
 * Not thread-safe: used on its response's event loop.
 */
final class MessagesContent {

    /** Where stream events go: the event type, and its JSON (which carries the type too). */
    interface Events {
        void send(String type, ObjectNode event);
    }

    private enum Kind { THINKING, TEXT, TOOL_USE }

    private static final class Block {
        final Kind kind;
        final String id;
        final String name;
        final StringBuilder text = new StringBuilder();

        Block(Kind kind, String id, String name) {
            this.kind = kind;
            this.id = id;
            this.name = name;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Events events;
    private final List<Block> blocks = new ArrayList<>();
    private final StringBuilder held = new StringBuilder();
    private Kind heldKind;
    private Block open;

    /** @param events where stream events go; null when not streaming */
    MessagesContent(Events events) {
        this.events = events;
    }

    void push(ChatDelta delta) {
        switch (delta) {
            case ChatDelta.Reasoning reasoning -> text(Kind.THINKING, reasoning.text());
            case ChatDelta.Content content -> text(Kind.TEXT, content.text());
            case ChatDelta.ToolCallStart start -> open(new Block(Kind.TOOL_USE, start.id(), start.name()), "");
            case ChatDelta.ToolCallArguments arguments -> {
                if (open == null || open.kind != Kind.TOOL_USE) {
                    throw new IllegalStateException("tool-call arguments outside a tool call (call " + arguments.index() + ")");
                }
                append(arguments.text());
            }
        }
    }

    /** The end of the answer: the open block is closed, whitespace still held is dropped. */
    void finish() {
        close();
        held.setLength(0);
        heldKind = null;
    }

    /** The blocks as a message's {@code content}; a tool call's input is its arguments parsed ({} when they do not parse). */
    ArrayNode json() {
        ArrayNode content = Json.array();
        for (Block block : blocks) {
            ObjectNode json = content.addObject();
            switch (block.kind) {
                case THINKING -> json.put("type", "thinking").put("thinking", block.text.toString()).put("signature", "");
                case TEXT -> json.put("type", "text").put("text", block.text.toString());
                case TOOL_USE -> json.put("type", "tool_use").put("id", block.id).put("name", block.name)
                        .set("input", input(block.text.toString()));
            }
        }
        return content;
    }

    private void text(Kind kind, String text) {
        if (text.isEmpty()) {
            return;
        }
        if (open != null && open.kind == kind) {
            append(text);
            return;
        }
        if (heldKind != kind) {
            held.setLength(0);
            heldKind = kind;
        }
        held.append(text);
        if (!held.toString().isBlank()) {
            open(new Block(kind, null, null), held.toString());
        }
    }

    private void open(Block block, String text) {
        close();
        held.setLength(0);
        heldKind = null;
        blocks.add(block);
        open = block;
        if (events != null) {
            ObjectNode start = event("content_block_start");
            ObjectNode json = start.putObject("content_block");
            switch (block.kind) {
                case THINKING -> json.put("type", "thinking").put("thinking", "").put("signature", "");
                case TEXT -> json.put("type", "text").put("text", "");
                case TOOL_USE -> json.put("type", "tool_use").put("id", block.id).put("name", block.name).putObject("input");
            }
            events.send("content_block_start", start);
        }
        append(text);
    }

    private void append(String text) {
        if (text.isEmpty()) {
            return;
        }
        open.text.append(text);
        if (events != null) {
            ObjectNode delta = Json.object();
            switch (open.kind) {
                case THINKING -> delta.put("type", "thinking_delta").put("thinking", text);
                case TEXT -> delta.put("type", "text_delta").put("text", text);
                case TOOL_USE -> delta.put("type", "input_json_delta").put("partial_json", text);
            }
            sendDelta(delta);
        }
    }

    private void close() {
        if (open == null) {
            return;
        }
        if (events != null) {
            if (open.kind == Kind.THINKING) {
                // Anthropic seals each thinking block with a signature; there is nothing to seal here
                sendDelta(Json.object().put("type", "signature_delta").put("signature", ""));
            }
            events.send("content_block_stop", event("content_block_stop"));
        }
        open = null;
    }

    private void sendDelta(ObjectNode delta) {
        ObjectNode event = event("content_block_delta");
        event.set("delta", delta);
        events.send("content_block_delta", event);
    }

    /** An event about the open block (the last one). */
    private ObjectNode event(String type) {
        return Json.object().put("type", type).put("index", blocks.size() - 1);
    }

    private static JsonNode input(String arguments) {
        try {
            JsonNode value = arguments.isBlank() ? null : JSON.readTree(arguments);
            return value != null && value.isObject() ? value : Json.object();
        } catch (JsonProcessingException e) {
            return Json.object();                              // a call cut off: the stream had its partial JSON
        }
    }
}
