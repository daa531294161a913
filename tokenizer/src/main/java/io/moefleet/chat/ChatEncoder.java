package io.moefleet.chat;

import io.moefleet.tokenizer.TextTokenizer;
import io.moefleet.tokenizer.Tokenizers;
import java.nio.file.Path;

/**
 * A chat request to prompt token ids, as a served request goes: the checkpoint's template renders it, and the text is
 * encoded with special tokens recognised (the template writes the turn markers as text). Thread-safe.
 */
public final class ChatEncoder implements AutoCloseable {

    private final TextTokenizer tokenizer;
    private final ChatTemplate template;

    public ChatEncoder(TextTokenizer tokenizer, ChatTemplate template) {
        this.tokenizer = tokenizer;
        this.template = template;
    }

    /** The tokenizer and chat template of a checkpoint directory. */
    public static ChatEncoder load(Path checkpointDir) {
        ChatTemplate template = ChatTemplate.read(checkpointDir);
        return new ChatEncoder(Tokenizers.load(checkpointDir), template);
    }

    public String render(ChatPrompt prompt) {
        return template.render(prompt);
    }

    public int[] encode(ChatPrompt prompt) {
        return tokenizer.encode(render(prompt), true);
    }

    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
