package io.moefleet.chat.output;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Reads Kimi K2 tool calls out of an answer as it streams: text before {@code <|tool_calls_section_begin|>} is content;
 * in the section each {@code <|tool_call_begin|>functions.NAME:INDEX<|tool_call_argument_begin|>JSON<|tool_call_end|>}
 * is a call, announced once its id is complete, its arguments streamed as they come; after
 * {@code <|tool_calls_section_end|>} text is content again. Markers are found in the text, so the result is the same
 * however the text is split, even when a marker is spelled by several ordinary tokens.
 *
 * <p>Nothing is lost and nothing throws: arguments that are not a JSON object, a call cut off by the end of the output
 * or by another marker, a call without a function name or naming an undeclared one all give a {@link ToolCall} with an
 * error and its raw text; non-blank text between calls, stray markers included, is content. Not thread-safe.
 */
public final class ToolCallParser {

    private enum State { CONTENT, SECTION, CALL_ID, ARGUMENTS }

    private static final List<String> IN_CONTENT = List.of(KimiMarkers.TOOL_CALLS_BEGIN);
    private static final List<String> IN_SECTION = List.of(KimiMarkers.TOOL_CALL_BEGIN, KimiMarkers.TOOL_CALLS_END,
            KimiMarkers.TOOL_CALLS_BEGIN, KimiMarkers.TOOL_CALL_ARGUMENTS, KimiMarkers.TOOL_CALL_END);
    private static final List<String> IN_CALL_ID = List.of(KimiMarkers.TOOL_CALL_ARGUMENTS, KimiMarkers.TOOL_CALL_END,
            KimiMarkers.TOOL_CALL_BEGIN, KimiMarkers.TOOL_CALLS_END);
    private static final List<String> IN_ARGUMENTS = List.of(KimiMarkers.TOOL_CALL_END, KimiMarkers.TOOL_CALL_BEGIN,
            KimiMarkers.TOOL_CALLS_END);
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final Set<String> declaredNames;
    private final MarkerScanner scanner = new MarkerScanner();
    private final StringBuilder content = new StringBuilder();
    private final List<ToolCall> calls = new ArrayList<>();
    private final StringBuilder betweenCalls = new StringBuilder();
    private final StringBuilder callId = new StringBuilder();
    private final StringBuilder arguments = new StringBuilder();
    private String openId;
    private String openName;
    private State state = State.CONTENT;

    /** @param declaredNames the functions the request declares; a call naming another one is an error */
    public ToolCallParser(Set<String> declaredNames) {
        this.declaredNames = Set.copyOf(declaredNames);
    }

    /** Reads more of the answer: emits content, tool-call starts and argument pieces. */
    public void push(String text, Consumer<ChatDelta> out) {
        scanner.append(text);
        MarkerScanner.Piece piece;
        while ((piece = scanner.next(markers())) != null) {
            if (piece.isMarker()) {
                marker(piece.text(), out);
            } else {
                text(piece.text(), out);
            }
        }
    }

    /** The end of the answer: held text is read, an unfinished call is closed with an error. */
    public void finish(Consumer<ChatDelta> out) {
        String rest = scanner.drain();
        if (!rest.isEmpty()) {
            text(rest, out);
        }
        switch (state) {
            case CONTENT -> { }
            case SECTION -> flushBetweenCalls(out);
            case CALL_ID -> {
                openCall(out);
                closeCall("the output ends before " + KimiMarkers.TOOL_CALL_ARGUMENTS);
            }
            case ARGUMENTS -> closeCall("the output ends before " + KimiMarkers.TOOL_CALL_END);
        }
        state = State.CONTENT;
    }

    public String content() {
        return content.toString();
    }

    public List<ToolCall> toolCalls() {
        return List.copyOf(calls);
    }

    private List<String> markers() {
        return switch (state) {
            case CONTENT -> IN_CONTENT;
            case SECTION -> IN_SECTION;
            case CALL_ID -> IN_CALL_ID;
            case ARGUMENTS -> IN_ARGUMENTS;
        };
    }

    private void text(String text, Consumer<ChatDelta> out) {
        switch (state) {
            case CONTENT -> emitContent(text, out);
            case SECTION -> betweenCalls.append(text);
            case CALL_ID -> callId.append(text);
            case ARGUMENTS -> {
                arguments.append(text);
                out.accept(new ChatDelta.ToolCallArguments(calls.size(), text));
            }
        }
    }

    private void marker(String marker, Consumer<ChatDelta> out) {
        switch (state) {
            case CONTENT -> state = State.SECTION;                 // the only marker looked for in content
            case SECTION -> sectionMarker(marker, out);
            case CALL_ID -> {
                openCall(out);
                if (marker.equals(KimiMarkers.TOOL_CALL_ARGUMENTS)) {
                    state = State.ARGUMENTS;
                } else {
                    closeCall("the call id is not followed by " + KimiMarkers.TOOL_CALL_ARGUMENTS);
                    afterCall(marker, out);
                }
            }
            case ARGUMENTS -> {
                if (marker.equals(KimiMarkers.TOOL_CALL_END)) {
                    closeCall(null);
                    state = State.SECTION;
                } else {
                    closeCall("the arguments are not followed by " + KimiMarkers.TOOL_CALL_END);
                    afterCall(marker, out);
                }
            }
        }
    }

    private void sectionMarker(String marker, Consumer<ChatDelta> out) {
        switch (marker) {
            case KimiMarkers.TOOL_CALL_BEGIN -> {
                flushBetweenCalls(out);
                state = State.CALL_ID;
            }
            case KimiMarkers.TOOL_CALLS_END -> {
                flushBetweenCalls(out);
                state = State.CONTENT;
            }
            default -> betweenCalls.append(marker);               // stray: kept as text
        }
    }

    /** A call was cut by this marker: the marker acts as it would between calls. */
    private void afterCall(String marker, Consumer<ChatDelta> out) {
        state = State.SECTION;
        if (!marker.equals(KimiMarkers.TOOL_CALL_END)) {
            sectionMarker(marker, out);
        }
    }

    /** Whitespace between calls is layout; anything else is content, so that nothing the model wrote is lost. */
    private void flushBetweenCalls(Consumer<ChatDelta> out) {
        if (!betweenCalls.toString().isBlank()) {
            emitContent(betweenCalls.toString(), out);
        }
        betweenCalls.setLength(0);
    }

    private void openCall(Consumer<ChatDelta> out) {
        openId = callId.toString().strip();
        openName = functionName(openId);
        callId.setLength(0);
        arguments.setLength(0);
        out.accept(new ChatDelta.ToolCallStart(calls.size(), openId, openName));
    }

    /** @param cutReason why the call is incomplete, or null when it ended with its end marker */
    private void closeCall(String cutReason) {
        String raw = arguments.toString();
        List<String> errors = new ArrayList<>();
        if (openName.isEmpty()) {
            errors.add("the call id '" + openId + "' names no function");
        } else if (!declaredNames.contains(openName)) {
            errors.add("the call names the function '" + openName + "', which the request does not declare");
        }
        if (cutReason != null) {
            errors.add(cutReason);
        } else {
            argumentsError(raw).ifPresent(errors::add);
        }
        Optional<String> error = errors.isEmpty() ? Optional.empty()
                : Optional.of("tool call " + calls.size() + " ('" + openId + "'): " + String.join("; ", errors));
        calls.add(new ToolCall(calls.size(), openId, openName, raw, error));
        arguments.setLength(0);
    }

    private static Optional<String> argumentsError(String raw) {
        try {
            JsonNode value = JSON.readTree(raw);
            return value != null && value.isObject() ? Optional.empty()
                    : Optional.of("the arguments are not a JSON object: '" + raw + "'");
        } catch (JsonProcessingException e) {
            return Optional.of("the arguments are not valid JSON (" + e.getOriginalMessage() + ")");
        }
    }

    /** {@code functions.NAME:INDEX} to NAME, as vLLM and SGLang read Kimi K2 ids. */
    static String functionName(String id) {
        String head = id;
        int colon = id.lastIndexOf(':');
        if (colon >= 0 && colon + 1 < id.length() && id.substring(colon + 1).chars().allMatch(Character::isDigit)) {
            head = id.substring(0, colon);
        }
        return head.startsWith(KimiMarkers.CALL_ID_PREFIX) ? head.substring(KimiMarkers.CALL_ID_PREFIX.length())
                : head.substring(head.lastIndexOf('.') + 1);
    }

    private void emitContent(String text, Consumer<ChatDelta> out) {
        content.append(text);
        out.accept(new ChatDelta.Content(text));
    }
}
