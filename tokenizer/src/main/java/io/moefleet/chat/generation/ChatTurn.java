package io.moefleet.chat.generation;

import io.moefleet.chat.output.AssistantMessage;
import io.moefleet.chat.output.AssistantOutputParser;
import io.moefleet.chat.output.ChatDelta;
import io.moefleet.grammar.AllowedTokens;
import io.moefleet.grammar.GrammarMatcher;
import io.moefleet.tokenizer.StreamingDecoder;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One assistant turn being generated, whatever steps the model: the encoded prompt, the answer's grammar (the mask of
 * every step), the step biases, and the text side (streaming decoder and output parser). {@link ChatGenerator#prepare}
 * makes one; the single-process loop of {@link ChatGenerator} and the router's continuous-batching scheduler both
 * drive it a token at a time. Not thread-safe: one stepping thread at a time.
 */
public final class ChatTurn {

    private final ChatRequest request;
    private final int[] prompt;
    private final int maxNewTokens;
    private final int[] ends;
    private final GrammarMatcher grammar;
    private final AssistantOutputParser parser;
    private final StreamingDecoder decoder;
    private final String continued;

    ChatTurn(ChatRequest request, int[] prompt, int maxNewTokens, int[] ends, GrammarMatcher grammar,
            AssistantOutputParser parser, StreamingDecoder decoder, String continued) {
        this.request = request;
        this.prompt = prompt;
        this.maxNewTokens = maxNewTokens;
        this.ends = ends;
        this.grammar = grammar;
        this.parser = parser;
        this.decoder = decoder;
        this.continued = continued;
    }

    public ChatRequest request() {
        return request;
    }

    /** The rendered and encoded conversation: the tokens to prefill. */
    public int[] prompt() {
        return prompt.clone();
    }

    /** The most tokens this turn may generate: {@code max_tokens}, or what the context leaves after the prompt. */
    public int maxNewTokens() {
        return maxNewTokens;
    }

    /** The checkpoint's end-of-turn ids: sampling one ends the turn ({@link FinishReason#STOP}). */
    public int[] endTokens() {
        return ends.clone();
    }

    /**
     * Starts the text side: parses the continued final assistant message, if any, handing its deltas to
     * {@code stream}. Call once, before the first token.
     */
    public void begin(Consumer<ChatDelta> stream) {
        parser.push(continued, stream);
    }

    /** The tokens the answer's grammar allows next (never empty while the turn is open). */
    public AllowedTokens allowedTokens(int step) {
        AllowedTokens allowed = grammar.allowedTokens();
        if (allowed.count() == 0) {
            throw new IllegalStateException("the answer grammar allows no token at step " + step + " (a grammar bug)");
        }
        return allowed;
    }

    /** {@code logits} with the step biases due at {@code step} added (a copy when any applies). */
    public float[] biased(float[] logits, int step) {
        float[] out = logits;
        for (StepBias bias : request.stepBiases()) {
            if (step >= bias.fromStep()) {
                if (out == logits) {
                    out = logits.clone();
                }
                for (Map.Entry<Integer, Float> entry : bias.bias().entrySet()) {
                    out[entry.getKey()] += entry.getValue();
                }
            }
        }
        return out;
    }

    /** Advances the grammar over a sampled token; a token outside the mask is a bug of the caller. */
    public void accept(int token) {
        if (!grammar.accept(token)) {
            throw new IllegalStateException("token " + token + " was sampled against the grammar's mask");
        }
    }

    /** Whether {@code token} ends the turn. */
    public boolean isEnd(int token) {
        for (int end : ends) {
            if (end == token) {
                return true;
            }
        }
        return false;
    }

    /** The text a generated (non-end) token completes; empty while it holds part of a UTF-8 character. */
    public String decode(int token) {
        return decoder.push(token);
    }

    /** Text held back by the decoder (an unfinished character) at the end of the turn. */
    public String flushText() {
        return decoder.flush();
    }

    /** Parses generated text into content, reasoning and tool-call deltas. */
    public void pushText(String text, Consumer<ChatDelta> stream) {
        parser.push(text, stream);
    }

    /** Ends the parse: the whole assistant message (the continued part included). */
    public AssistantMessage finish(Consumer<ChatDelta> stream) {
        return parser.finish(stream);
    }

    /** OpenAI's finish reason: an end token after tool calls is {@link FinishReason#TOOL_CALLS}. */
    public static FinishReason finishReason(FinishReason ended, AssistantMessage message) {
        return ended == FinishReason.STOP && !message.toolCalls().isEmpty() ? FinishReason.TOOL_CALLS : ended;
    }
}
