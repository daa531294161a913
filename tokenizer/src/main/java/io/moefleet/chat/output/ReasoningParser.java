package io.moefleet.chat.output;

import java.util.List;
import java.util.function.Consumer;

/**
 * Separates reasoning from the answer as Kimi K2's thinking checkpoints write it (vLLM's kimi_k2 reasoning parser):
 * the output starts in reasoning, a {@code <think>} right at its start is dropped (the prompt may have opened the block
 * instead), and reasoning ends at {@code </think>} or where a tool-calls section begins, the section itself belonging to
 * the answer. Without thinking the parser is the identity: everything is answer. The result does not depend on how
 * the text is split into pieces. Not thread-safe.
 */
public final class ReasoningParser {

    private enum State { START, REASONING, ANSWER }

    private static final List<String> AT_START = List.of(KimiMarkers.THINK_BEGIN, KimiMarkers.THINK_END, KimiMarkers.TOOL_CALLS_BEGIN);
    private static final List<String> IN_REASONING = List.of(KimiMarkers.THINK_END, KimiMarkers.TOOL_CALLS_BEGIN);

    private final MarkerScanner scanner = new MarkerScanner();
    private final StringBuilder reasoning = new StringBuilder();
    private State state;

    /** @param thinking whether the output starts in reasoning; false makes the parser the identity */
    public ReasoningParser(boolean thinking) {
        state = thinking ? State.START : State.ANSWER;
    }

    /** Reads more output: emits {@link ChatDelta.Reasoning} and {@link ChatDelta.Content} pieces. */
    public void push(String text, Consumer<ChatDelta> out) {
        if (state == State.ANSWER) {
            emitAnswer(text, out);
            return;
        }
        scanner.append(text);
        MarkerScanner.Piece piece;
        while (state != State.ANSWER && (piece = scanner.next(state == State.START ? AT_START : IN_REASONING)) != null) {
            if (!piece.isMarker()) {
                state = State.REASONING;
                reasoning.append(piece.text());
                out.accept(new ChatDelta.Reasoning(piece.text()));
            } else if (piece.text().equals(KimiMarkers.THINK_BEGIN)) {
                state = State.REASONING;
            } else {
                state = State.ANSWER;
                if (piece.text().equals(KimiMarkers.TOOL_CALLS_BEGIN)) {
                    emitAnswer(piece.text(), out);
                }
            }
        }
        if (state == State.ANSWER) {
            emitAnswer(scanner.drain(), out);
        }
    }

    /** The end of the output: what was held back to look for a marker goes where it belongs. */
    public void finish(Consumer<ChatDelta> out) {
        String rest = scanner.drain();
        if (rest.isEmpty()) {
            return;
        }
        if (state == State.ANSWER) {
            emitAnswer(rest, out);
        } else {
            reasoning.append(rest);
            out.accept(new ChatDelta.Reasoning(rest));
        }
    }

    /** The reasoning read so far. */
    public String reasoning() {
        return reasoning.toString();
    }

    private static void emitAnswer(String text, Consumer<ChatDelta> out) {
        if (!text.isEmpty()) {
            out.accept(new ChatDelta.Content(text));
        }
    }
}
