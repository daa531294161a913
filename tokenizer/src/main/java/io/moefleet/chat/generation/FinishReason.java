package io.moefleet.chat.generation;

/** Why a generation ended, with the name OpenAI's API gives it. */
public enum FinishReason {
    /** An end-of-turn token. */
    STOP("stop"),
    /** An end-of-turn token after tool calls: the caller runs them and continues the conversation. */
    TOOL_CALLS("tool_calls"),
    /** {@code max_tokens}, or the context, ran out first. */
    LENGTH("length");

    private final String openAiName;

    FinishReason(String openAiName) {
        this.openAiName = openAiName;
    }

    public String openAiName() {
        return openAiName;
    }
}
