package io.moefleet.chat.generation;

import io.moefleet.chat.ChatEncoder;
import io.moefleet.chat.output.AssistantMessage;
import io.moefleet.chat.output.AssistantOutputParser;
import io.moefleet.chat.output.ChatDelta;
import io.moefleet.chat.output.KimiMarkers;
import io.moefleet.engine.Engine;
import io.moefleet.grammar.GrammarMatcher;
import io.moefleet.grammar.TokenVocabulary;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.sampling.SequenceSampler;
import io.moefleet.tokenizer.StreamingDecoder;
import io.moefleet.tokenizer.TextTokenizer;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Chat completions on the single-process engine, as the HTTP API serves them: the request is rendered with the
 * checkpoint's chat template and encoded; each step samples under the mask of the answer's grammar
 * ({@link AnswerGrammar}: tool names and arguments, tool choice, response format, reasoning); generated text streams as
 * content, reasoning and tool-call deltas; the result holds the parsed message and why it ended.
 *
 * <p>Reasoning is on when the checkpoint has {@code <think>} and {@code </think>} tokens and
 * {@code chat_template_kwargs.thinking} is not false (Kimi K2's default). A continued final assistant message
 * ({@code continue_final_message}) is read first, by grammar and parsers alike, so generation goes on from where it
 * stands, e.g. inside a tool call; it continues reasoning only when it begins with {@code <think>}. Its deltas are
 * streamed first and it is part of the result, which is always the whole assistant message.
 *
 * <p>Thread-safe: generations run one at a time, as the engine's model computes one step at a time.
 */
public final class ChatGenerator {

    private final Transformer model;
    private final ChatEncoder encoder;
    private final TextTokenizer tokenizer;
    private final TokenVocabulary vocabulary;
    private final boolean checkpointThinks;

    public ChatGenerator(Engine engine, ChatEncoder encoder) {
        this(engine.model(), encoder);
    }

    /** Over any model (the engine's, or the fleet's): {@link #prepare} only reads its configuration. */
    public ChatGenerator(Transformer model, ChatEncoder encoder) {
        this.model = model;
        this.encoder = encoder;
        this.tokenizer = encoder.tokenizer();
        if (tokenizer.vocabSize() > model.config().vocabSize()) {
            throw new IllegalArgumentException("the tokenizer has " + tokenizer.vocabSize() + " tokens, the model only "
                    + model.config().vocabSize());
        }
        this.vocabulary = TokenVocabulary.of(tokenizer);
        this.checkpointThinks = tokenizer.specialTokens().id(KimiMarkers.THINK_BEGIN).isPresent()
                && tokenizer.specialTokens().id(KimiMarkers.THINK_END).isPresent();
    }

    /** Generates without streaming. */
    public ChatResult generate(ChatRequest request) {
        return generate(request, delta -> { });
    }

    /**
     * Generates one answer on the engine, handing each delta to {@code stream} as it is decoded.
     *
     * @throws IllegalArgumentException when the request cannot be served (see {@link #prepare})
     */
    public ChatResult generate(ChatRequest request, Consumer<ChatDelta> stream) {
        ChatTurn turn = prepare(request);
        turn.begin(stream);
        synchronized (model) {
            return decode(turn, stream);
        }
    }

    /**
     * Renders and encodes the request and builds its answer grammar: a turn ready for any step loop.
     *
     * @throws IllegalArgumentException when the request cannot be served (template error, unsupported response schema,
     *     missing marker tokens, a step bias beyond the vocabulary, a continued message the request's constraints do
     *     not allow, a prompt that fills the context)
     */
    public ChatTurn prepare(ChatRequest request) {
        int vocabularySize = model.config().vocabSize();
        for (StepBias bias : request.stepBiases()) {
            for (int id : bias.bias().keySet()) {
                if (id >= vocabularySize) {
                    throw new IllegalArgumentException("a step bias on token " + id + ", beyond the vocabulary of " + vocabularySize);
                }
            }
        }
        String rendered = encoder.render(request.prompt());
        int[] prompt = tokenizer.encode(rendered, true);
        int budget = Math.min(request.maxTokens().orElse(Integer.MAX_VALUE), model.config().maxPositionEmbeddings() - prompt.length);
        if (budget < 1) {
            throw new IllegalArgumentException("the prompt's " + prompt.length + " tokens fill the context of "
                    + model.config().maxPositionEmbeddings());
        }
        String continued = request.prompt().continueFinalMessage() ? continuedText(request, rendered) : "";
        boolean thinking = checkpointThinks && thinkingRequested(request.prompt().templateKwargs())
                && (continued.isEmpty() || continued.startsWith(KimiMarkers.THINK_BEGIN));
        GrammarMatcher grammar = new GrammarMatcher(
                AnswerGrammar.of(request, thinking, tokenizer.specialTokens(), tokenizer.sequenceMarkers().eos()), vocabulary);
        for (int id : tokenizer.encode(continued, true)) {
            if (!grammar.accept(id)) {
                throw new IllegalArgumentException("the final assistant message cannot be continued under this request's"
                        + " constraints (tool choice, declared tools, response format): '" + continued + "'");
            }
        }
        return new ChatTurn(request, prompt, budget, tokenizer.sequenceMarkers().eos(), grammar,
                new AssistantOutputParser(thinking, request.callableNames()), new StreamingDecoder(tokenizer), continued);
    }

    private ChatResult decode(ChatTurn turn, Consumer<ChatDelta> stream) {
        int[] prompt = turn.prompt();
        Sequence sequence = model.newSequence();
        try {
            SequenceSampler sampler = new SequenceSampler(turn.request().sampling(), prompt, model.config().vocabSize());
            float[] logits = model.step(List.of(StepChunk.next(sequence, prompt, false))).getFirst()[0];
            FinishReason finish = FinishReason.LENGTH;
            for (int step = 0; step < turn.maxNewTokens(); step++) {
                int token = sampler.next(turn.biased(logits, step), turn.allowedTokens(step));
                turn.accept(token);
                if (turn.isEnd(token)) {
                    finish = FinishReason.STOP;
                    break;
                }
                turn.pushText(turn.decode(token), stream);
                if (step + 1 < turn.maxNewTokens()) {
                    logits = model.step(List.of(StepChunk.next(sequence, new int[] {token}, false))).getFirst()[0];
                }
            }
            turn.pushText(turn.flushText(), stream);
            AssistantMessage message = turn.finish(stream);
            return new ChatResult(message, ChatTurn.finishReason(finish, message), prompt.length, sampler.generated());
        } finally {
            model.release(sequence);
        }
    }

    /** The continued message as the prompt ends with it (the template may have trimmed its leading whitespace). */
    private static String continuedText(ChatRequest request, String rendered) {
        return rendered.substring(rendered.lastIndexOf(request.prompt().finalMessageText().strip()));
    }

    /** {@code thinking} as the template reads it: absent means on, otherwise Python truthiness. */
    private static boolean thinkingRequested(Map<String, Object> templateKwargs) {
        if (!templateKwargs.containsKey("thinking")) {
            return true;
        }
        return switch (templateKwargs.get("thinking")) {
            case null -> false;
            case Boolean on -> on;
            case Number number -> number.doubleValue() != 0;
            case String text -> !text.isEmpty();
            default -> true;
        };
    }
}
