package io.moefleet.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** The Jinja chat template written into generated checkpoints (Kimi K2 format with thinking), kept as a resource. */
final class ChatTemplate {
    static final String RESOURCE = "kimi-k2-chat-template.jinja";

    private ChatTemplate() {
    }

    static String text() {
        try (InputStream in = ChatTemplate.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource io/moefleet/checkpoint/" + RESOURCE + " is missing");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
