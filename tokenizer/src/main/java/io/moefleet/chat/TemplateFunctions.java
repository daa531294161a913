package io.moefleet.chat;

import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.lang.reflect.Method;

/** The global functions Hugging Face gives chat templates. */
final class TemplateFunctions {

    private TemplateFunctions() {}

    /** {@code raise_exception(message)}: how templates reject a conversation they cannot format. */
    static ELFunctionDefinition raiseException() {
        try {
            Method method = TemplateFunctions.class.getDeclaredMethod("raise", String.class);
            method.setAccessible(true); // Jinjava calls it from its own package; the class is not public API
            return new ELFunctionDefinition("", "raise_exception", method);
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String raise(String message) {
        throw new ChatTemplateException("the chat template rejects the conversation: " + message);
    }
}
