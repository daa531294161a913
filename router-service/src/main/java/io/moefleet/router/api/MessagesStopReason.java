package io.moefleet.router.api;

import io.moefleet.chat.generation.FinishReason;
import io.moefleet.chat.output.AssistantMessage;

/** Why an Anthropic message ended, as its {@code stop_reason} names it. */
enum MessagesStopReason {
    /** An end-of-turn token after an answer. */
    END_TURN("end_turn"),
    /** {@code max_tokens}, or the context, ran out first. */
    MAX_TOKENS("max_tokens"),
    /** One of the request's {@code stop_sequences} was generated (the message's {@code stop_sequence} says which). */
    STOP_SEQUENCE("stop_sequence"),
    /** An end-of-turn token after tool calls: the client runs them and sends their results. */
    TOOL_USE("tool_use");

    private final String wireName;

    MessagesStopReason(String wireName) {
        this.wireName = wireName;
    }

    String wireName() {
        return wireName;
    }

    /**
     * @param ended how the scheduler ended the generation (a met stop sequence ends it with STOP too)
     * @param stopSequenceMet whether a stop sequence was met
     */
    static MessagesStopReason of(FinishReason ended, boolean stopSequenceMet, AssistantMessage message) {
        if (stopSequenceMet) {
            return STOP_SEQUENCE;
        }
        return switch (ended) {
            case LENGTH -> MAX_TOKENS;
            case STOP, TOOL_CALLS -> message.toolCalls().isEmpty() ? END_TURN : TOOL_USE;
        };
    }
}
