package io.moefleet.router.api;

import io.moefleet.chat.ChatEncoder;
import io.moefleet.chat.generation.ChatGenerator;
import io.moefleet.model.forward.Transformer;
import io.moefleet.router.scheduler.Scheduler;
import io.moefleet.tokenizer.TextTokenizer;
import java.time.Instant;

/**
 * The model the API serves: its name, its text side (tokenizer, chat template, the chat generator that prepares turns)
 * and the scheduler that steps it.
 */
public final class ServedModel {

    private final String name;
    private final Instant created;
    private final Transformer model;
    private final ChatEncoder encoder;
    private final ChatGenerator chat;
    private final Scheduler scheduler;

    public ServedModel(String name, Transformer model, ChatEncoder encoder, Scheduler scheduler) {
        this.name = name;
        this.created = Instant.now();
        this.model = model;
        this.encoder = encoder;
        this.chat = new ChatGenerator(model, encoder);       // builds the vocabulary's token trie once
        this.scheduler = scheduler;
    }

    public String name() {
        return name;
    }

    public Instant created() {
        return created;
    }

    public ChatEncoder encoder() {
        return encoder;
    }

    public TextTokenizer tokenizer() {
        return encoder.tokenizer();
    }

    /** Prepares chat turns (thread-safe: turns are prepared on worker threads, concurrently). */
    public ChatGenerator chat() {
        return chat;
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    public int contextLength() {
        return model.config().maxPositionEmbeddings();
    }

    public int vocabSize() {
        return model.config().vocabSize();
    }

    /** The model named in a request: 404 unless it is this one. */
    public void requireName(String requested) {
        if (!name.equals(requested)) {
            throw ApiException.notFound("the model '" + requested + "' does not exist; this server serves '" + name + "'");
        }
    }
}
