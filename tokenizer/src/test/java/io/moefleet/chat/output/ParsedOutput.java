package io.moefleet.chat.output;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** An answer run through {@link AssistantOutputParser} in pieces: the final message and the deltas streamed on the way. */
record ParsedOutput(AssistantMessage message, List<ChatDelta> deltas) {

    static ParsedOutput parse(List<String> chunks, boolean thinking, Set<String> tools) {
        AssistantOutputParser parser = new AssistantOutputParser(thinking, tools);
        List<ChatDelta> deltas = new ArrayList<>();
        chunks.forEach(chunk -> parser.push(chunk, deltas::add));
        AssistantMessage message = parser.finish(deltas::add);
        return new ParsedOutput(message, deltas);
    }

    /** The message the deltas describe, each call's error taken from the final message (errors are not streamed). */
    AssistantMessage reassembled() {
        StringBuilder reasoning = new StringBuilder();
        StringBuilder content = new StringBuilder();
        List<String[]> calls = new ArrayList<>();
        for (ChatDelta delta : deltas) {
            switch (delta) {
                case ChatDelta.Reasoning r -> reasoning.append(r.text());
                case ChatDelta.Content c -> content.append(c.text());
                case ChatDelta.ToolCallStart start -> {
                    assertEquals(calls.size(), start.index(), "calls start in order");
                    calls.add(new String[] {start.id(), start.name(), ""});
                }
                case ChatDelta.ToolCallArguments piece -> {
                    assertEquals(calls.size() - 1, piece.index(), "arguments belong to the open call");
                    calls.getLast()[2] += piece.text();
                }
            }
        }
        List<ToolCall> toolCalls = new ArrayList<>();
        for (int i = 0; i < calls.size(); i++) {
            Optional<String> error = i < message.toolCalls().size() ? message.toolCalls().get(i).error() : Optional.empty();
            toolCalls.add(new ToolCall(i, calls.get(i)[0], calls.get(i)[1], calls.get(i)[2], error));
        }
        return new AssistantMessage(reasoning.toString(), content.toString(), toolCalls);
    }
}
