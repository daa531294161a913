package io.moefleet.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.tokenizer.GoldenFiles;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code continue_final_message} as Hugging Face renders it: the final message left open, its end-of-turn cut off. */
class ContinueFinalMessageTest {

    private static final String TEMPLATE = "{% for m in messages %}<{{ m.role }}>{{ m.content }}</s>{% endfor %}";

    private static ChatPrompt prompt(String json) throws IOException {
        return ChatPrompt.fromJson(new ObjectMapper().readTree(json));
    }

    private static String continued(String template, String content) throws IOException {
        return ChatTemplate.of(template, Map.of()).render(prompt("""
                {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": %s}],
                 "continue_final_message": true}""".formatted(new ObjectMapper().writeValueAsString(content))));
    }

    @Test
    void theTextEndsWithTheFinalMessageAndItsTrailingWhitespaceWhereTheTemplateKeptIt() throws IOException {
        assertEquals("<user>Hi</s><assistant>Sure, ", continued(TEMPLATE, "Sure, "));
        assertEquals("<user>Hi</s><assistant>Sure,", continued(TEMPLATE.replace("m.content", "m.content | trim"), "Sure, "));
        assertEquals("<user>Hi</s><assistant> Sure", continued(TEMPLATE, " Sure "), "leading whitespace: cut after the stripped text");
    }

    @Test
    void aKimiPartialAssistantMessageThatOpensAToolCallsSectionEndsWithItsToken() throws IOException {
        try (ChatEncoder encoder = ChatEncoder.load(GoldenFiles.tinyK2())) {
            ChatPrompt open = prompt("""
                    {"messages": [{"role": "user", "content": "Weather?"},
                                  {"role": "assistant", "content": "Checking.<|tool_calls_section_begin|>"}],
                     "continue_final_message": true}""");
            String text = encoder.render(open);
            assertTrue(text.endsWith("<|im_assistant|>assistant<|im_middle|>Checking.<|tool_calls_section_begin|>"), text);
            int[] ids = encoder.encode(open);
            int sectionBegin = encoder.tokenizer().specialTokens().id("<|tool_calls_section_begin|>").orElseThrow();
            assertEquals(sectionBegin, ids[ids.length - 1]);
            assertFalse(text.endsWith("<|im_end|>"));
        }
    }

    @Test
    void theGenerationPromptDefaultsOffWhenContinuingAndBothAtOnceOrNothingToContinueAreRejected() throws IOException {
        assertFalse(prompt("{\"messages\": [{\"role\": \"assistant\", \"content\": \"a\"}], \"continue_final_message\": true}")
                .addGenerationPrompt());
        assertThrows(IllegalArgumentException.class, () -> prompt("""
                {"messages": [{"role": "assistant", "content": "a"}], "continue_final_message": true, "add_generation_prompt": true}"""));
        assertThrows(IllegalArgumentException.class, () -> prompt("{\"messages\": [], \"continue_final_message\": true}"));
        ChatTemplateException empty = assertThrows(ChatTemplateException.class, () -> continued(TEMPLATE, " "));
        assertTrue(empty.getMessage().contains("empty"), empty.getMessage());
    }

    @Test
    void aListOfPartsContinuesFromItsLastTextPart() throws IOException {
        ChatPrompt parts = prompt("""
                {"messages": [{"role": "assistant", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]}],
                 "continue_final_message": true}""");
        assertEquals("two", parts.finalMessageText());
        assertEquals("<assistant>[one, two", ChatTemplate.of("{% for m in messages %}<{{ m.role }}>[{{ m.content[0].text }}, "
                + "{{ m.content[1].text }}]</s>{% endfor %}", Map.of()).render(parts));
    }
}
