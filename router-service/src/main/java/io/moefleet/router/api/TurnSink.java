package io.moefleet.router.api;

import io.moefleet.chat.generation.FinishReason;
import io.moefleet.chat.output.AssistantMessage;
import io.moefleet.chat.output.ChatDelta;
import io.moefleet.router.scheduler.TokenLogprobs;
import java.util.List;
import java.util.Optional;

/**
 * Where a chat turn's output goes, called on the response's event loop: an OpenAI chat completion
 * ({@link ChatResponse}) or an Anthropic message ({@link MessagesResponse}).
 */
interface TurnSink {

    /** The deltas one generated token completed, and its logprobs when asked for (else null). */
    void onDeltas(int choice, List<ChatDelta> deltas, TokenLogprobs logprobs);

    /** The last deltas and how the turn ended. */
    void onFinish(int choice, List<ChatDelta> deltas, Ending ending, int generated);

    void onError(RuntimeException error);

    /**
     * How a turn ended: the parsed message, OpenAI's finish reason, and the stop string met, if any.
     */
    record Ending(AssistantMessage message, FinishReason reason, Optional<String> stopSequence) {}
}
