package io.moefleet.chat.output;

import java.util.Optional;

/**
 * A tool call as the model wrote it. Its raw argument text is always kept; {@code error} says what is wrong with the
 * call when something is (arguments that are not a JSON object, a call cut off, an undeclared function).
 *
 * @param index the call's position in the answer, from 0
 * @param id the call id as written, e.g. {@code functions.get_weather:0}
 * @param name the function name the id carries
 */
public record ToolCall(int index, String id, String name, String arguments, Optional<String> error) {

    public boolean isValid() {
        return error.isEmpty();
    }
}
