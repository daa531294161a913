package io.moefleet.chat.output;

import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A Kimi K2 answer as it streams: reasoning first (when thinking), then the answer, whose tool-calls section (when the
 * request lets the model call tools) becomes tool calls. Pieces in, deltas out; the deltas concatenate to the final
 * {@link AssistantMessage}, whatever the pieces. Not thread-safe.
 */
public final class AssistantOutputParser {

    private final ReasoningParser reasoning;
    private final ToolCallParser toolCalls;
    private final StringBuilder content = new StringBuilder();

    /**
     * @param thinking whether the output starts in reasoning
     * @param declaredTools the functions the model may call; empty when the request allows no tool calls, and then a
     *     tool-calls section is plain content
     */
    public AssistantOutputParser(boolean thinking, Set<String> declaredTools) {
        this.reasoning = new ReasoningParser(thinking);
        this.toolCalls = declaredTools.isEmpty() ? null : new ToolCallParser(declaredTools);
    }

    public void push(String text, Consumer<ChatDelta> out) {
        reasoning.push(text, delta -> route(delta, out));
    }

    /** The end of the output: flushes what was held and gives the whole message. */
    public AssistantMessage finish(Consumer<ChatDelta> out) {
        reasoning.finish(delta -> route(delta, out));
        if (toolCalls == null) {
            return new AssistantMessage(reasoning.reasoning(), content.toString(), List.of());
        }
        toolCalls.finish(out);
        return new AssistantMessage(reasoning.reasoning(), toolCalls.content(), toolCalls.toolCalls());
    }

    private void route(ChatDelta delta, Consumer<ChatDelta> out) {
        if (delta instanceof ChatDelta.Content answer) {
            if (toolCalls != null) {
                toolCalls.push(answer.text(), out);
                return;
            }
            content.append(answer.text());
        }
        out.accept(delta);
    }
}
