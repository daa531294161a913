package io.moefleet.chat.output;

/**
 * One piece of a streamed answer. Concatenated in order, the pieces give the final {@link AssistantMessage}: content,
 * reasoning, and each tool call's id and name (from its start) and arguments (its argument pieces).
 */
public sealed interface ChatDelta {

    record Content(String text) implements ChatDelta {}

    record Reasoning(String text) implements ChatDelta {}

    /** A tool call begins; {@code index} counts the calls of the answer from 0. */
    record ToolCallStart(int index, String id, String name) implements ChatDelta {}

    record ToolCallArguments(int index, String text) implements ChatDelta {}
}
