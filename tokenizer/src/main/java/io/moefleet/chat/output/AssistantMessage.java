package io.moefleet.chat.output;

import java.util.List;

/** A parsed answer: the reasoning (empty when none), the content shown to the user, and the tool calls in order. */
public record AssistantMessage(String reasoning, String content, List<ToolCall> toolCalls) {

    public AssistantMessage {
        toolCalls = List.copyOf(toolCalls);
    }
}
