package io.moefleet.chat.generation;

import io.moefleet.chat.output.AssistantMessage;

/**
 * A finished generation.
 *
 * @param message the whole assistant message; when the request continued a final assistant message, that message's
 *     text is part of it (and was streamed first), so a tool call it opened is whole here
 * @param promptTokens how many tokens the rendered prompt took
 * @param completionTokens the generated token ids, an end-of-turn token included when one ended the generation
 */
public record ChatResult(AssistantMessage message, FinishReason finishReason, int promptTokens, int[] completionTokens) {}
