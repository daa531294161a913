package io.moefleet.chat;

/** A chat template that cannot be rendered for a request: the template's own error, or a broken template. */
public final class ChatTemplateException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
