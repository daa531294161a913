package io.moefleet.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hugging Face's rendering semantics beyond what the golden cases exercise. */
class ChatTemplateTest {

    @TempDir
    Path dir;

    private static ChatPrompt prompt(String json) throws IOException {
        return ChatPrompt.fromJson(new ObjectMapper().readTree(json));
    }

    private static final String USER_HI = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]";

    /** Expected strings are what Python 3's json.dumps writes for the same value. */
    @Test
    void tojsonWritesWhatPythonsJsonDumpsWrites() throws IOException {
        ChatPrompt prompt = prompt(USER_HI + ", \"chat_template_kwargs\": {\"x\": {\"name\": \"get_weather\", "
                + "\"description\": \"M\u00e9t\u00e9o \u00e0 Paris (\u5929\u6c14) \\\"quoted\\\" back\\\\slash\\nnew\\ttab \\u0001 \u007f \u2028 \uD83D\uDE00\", "
                + "\"parameters\": {\"type\": \"object\", \"required\": [\"city\"], \"n\": 3, \"f\": 0.5, \"ok\": true, \"none\": null, "
                + "\"empty\": {}, \"list\": []}}, \"y\": {\"b\": 1, \"a\": [1, {\"d\": null, \"c\": 2.0}]}}}");
        assertEquals("{\"name\": \"get_weather\", \"description\": \"M\u00e9t\u00e9o \u00e0 Paris (\u5929\u6c14) \\\"quoted\\\" "
                        + "back\\\\slash\\nnew\\ttab \\u0001 \u007f \u2028 \uD83D\uDE00\", \"parameters\": {\"type\": \"object\", "
                        + "\"required\": [\"city\"], \"n\": 3, \"f\": 0.5, \"ok\": true, \"none\": null, \"empty\": {}, \"list\": []}}",
                ChatTemplate.of("{{ x | tojson }}", Map.of()).render(prompt));
        assertEquals("{\"name\": \"get_weather\", \"description\": \"M\\u00e9t\\u00e9o \\u00e0 Paris (\\u5929\\u6c14) \\\"quoted\\\" "
                        + "back\\\\slash\\nnew\\ttab \\u0001 \\u007f \\u2028 \\ud83d\\ude00\", \"parameters\": {\"type\": \"object\", "
                        + "\"required\": [\"city\"], \"n\": 3, \"f\": 0.5, \"ok\": true, \"none\": null, \"empty\": {}, \"list\": []}}",
                ChatTemplate.of("{{ x | tojson(ensure_ascii=True) }}", Map.of()).render(prompt));
        assertEquals("{\n  \"b\": 1,\n  \"a\": [\n    1,\n    {\n      \"d\": null,\n      \"c\": 2.0\n    }\n  ]\n}",
                ChatTemplate.of("{{ y | tojson(indent=2) }}", Map.of()).render(prompt));
        assertEquals("{\"a\": [1, {\"c\": 2.0, \"d\": null}], \"b\": 1}",
                ChatTemplate.of("{{ y | tojson(sort_keys=True) }}", Map.of()).render(prompt));
        assertEquals("{\"b\":1,\"a\":[1,{\"d\":null,\"c\":2.0}]}",
                ChatTemplate.of("{{ y | tojson(separators=[',', ':']) }}", Map.of()).render(prompt));
    }

    @Test
    void pythonFloatReprMatches() {
        // repr() in Python 3 of the same doubles
        double[] values = {0.1, 1e16, 1e15, 1e-5, 0.0001, 123456789.0, -0.0, 1.5e300, 5e-324, 100.0, 1.0 / 3,
            12345678901234567890.0, 1e23, 2.2250738585072014e-308, Double.MAX_VALUE, 9007199254740993.0, 1e-7, 2e-323, 123e-320};
        List<String> expected = List.of("0.1", "1e+16", "1000000000000000.0", "1e-05", "0.0001", "123456789.0", "-0.0",
                "1.5e+300", "5e-324", "100.0", "0.3333333333333333", "1.2345678901234567e+19", "1e+23",
                "2.2250738585072014e-308", "1.7976931348623157e+308", "9007199254740992.0", "1e-07", "2e-323", "1.23e-318");
        for (int i = 0; i < values.length; i++) {
            assertEquals(expected.get(i), PythonJson.floatRepr(values[i]));
        }
        assertEquals("NaN", PythonJson.floatRepr(Double.NaN));
        assertEquals("-Infinity", PythonJson.floatRepr(Double.NEGATIVE_INFINITY));
    }

    @Test
    void namedSpecialTokensAreVariablesAsHuggingFaceGivesThem() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "</s>",
                 "additional_special_tokens": ["<a>", {"content": "<b>"}],
                 "chat_template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}{{ additional_special_tokens | join(',') }}"}
                """);
        assertEquals("<s>Hi</s><a>,<b>", ChatTemplate.read(dir).render(prompt(USER_HI + "}")));
    }

    @Test
    void chatTemplateJinjaWinsAndNamedTemplatesPickToolUseForRequestsWithTools() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"chat_template": [{"name": "default", "template": "plain"}, {"name": "tool_use", "template": "tools:{{ tools | length }}"}]}
                """);
        assertEquals("plain", ChatTemplate.read(dir).render(prompt(USER_HI + "}")));
        assertEquals("tools:1", ChatTemplate.read(dir).render(prompt(USER_HI + ", \"tools\": [{\"type\": \"function\"}]}")));
        Files.writeString(dir.resolve(ChatTemplate.TEMPLATE_FILE), "from the file");
        assertEquals("from the file", ChatTemplate.read(dir).render(prompt(USER_HI + "}")));
    }

    @Test
    void requestObjectsHaveThePythonDictMethodsTemplatesCall() throws IOException {
        ChatTemplate template = ChatTemplate.of("{% for m in messages %}{{ m.get('name', m['role']) }}:{{ m.get('reasoning_content', '-') }}"
                + "{% for k, v in m.items() %}/{{ k }}{% endfor %}{{ m.keys() | length }};{% endfor %}", Map.of());
        ChatPrompt prompt = prompt("{\"messages\": [{\"role\": \"user\", \"name\": \"bob\", \"content\": \"Hi\"}, "
                + "{\"role\": \"assistant\", \"content\": null, \"reasoning_content\": \"r\"}]}");
        assertEquals("bob:-/role/name/content3;assistant:r/role/content/reasoning_content3;", template.render(prompt));
    }

    @Test
    void messageTextIsDataNeverRenderedAgain() throws IOException {
        ChatTemplate template = ChatTemplate.of("{% for m in messages %}[{{ m.content }}]{% endfor %}", Map.of());
        String text = "{{ 7 * 7 }} {% if true %}x{% endif %} {# note #}";
        ChatPrompt prompt = prompt("{\"messages\": [{\"role\": \"user\", \"content\": " + new ObjectMapper().writeValueAsString(text) + "}]}");
        assertEquals("[" + text + "]", template.render(prompt));
    }

    @Test
    void raiseExceptionRejectsTheConversationWithTheTemplatesMessage() throws IOException {
        ChatTemplate template = ChatTemplate.of(
                "{% if messages[0].role != 'system' %}{{ raise_exception('Conversation must start with a system message') }}{% endif %}ok",
                Map.of());
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> template.render(prompt(USER_HI + "}")));
        assertTrue(e.getMessage().contains("Conversation must start with a system message"), e.getMessage());
        assertEquals("ok", template.render(prompt("{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}]}")));
    }

    @Test
    void aBrokenTemplateOrAnUnknownFunctionFailsClearly() {
        for (String broken : List.of("{% if messages %}unclosed", "{{ strftime_now('%Y-%m-%d') }}", "{% no_such_tag %}")) {
            ChatTemplateException e = assertThrows(ChatTemplateException.class,
                    () -> ChatTemplate.of(broken, Map.of()).render(prompt(USER_HI + "}")), broken);
            assertTrue(e.getMessage().startsWith("the chat template failed"), e.getMessage());
        }
    }

    @Test
    void aTemplateUsingAFilterOrTestJinjavaLacksIsRejectedWhenLoaded() {
        // Jinjava would render these as nothing; Jinja rejects the template
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.of(
                "{{ messages | no_such_filter }}{% if x is not no_such_test %}{% endif %}{{ '| not_a_filter' }}{# | nor_this #}", Map.of()));
        assertEquals("the chat template uses filter 'no_such_filter', test 'no_such_test', which the Jinja renderer (Jinjava) "
                + "does not have", e.getMessage());
        ChatTemplate.of("{{ m | tojson | length }}{% if m is not none and m is mapping and m is defined %}{% endif %}", Map.of());
    }

    @Test
    void whitespaceIsTrimmedAsJinjaWithTrimAndLstripBlocksTrimsIt() throws IOException {
        // expected: Jinja2 3.1.6 with trim_blocks and lstrip_blocks on the same templates
        Map<String, String> expected = Map.of(
                "a {% if true %}b{% endif %} c", "a b c",
                "x {% set y = 1 %} z", "x  z",
                "  {% if true %}\n  yes\n  {% endif %}\nend", "  yes\nend",
                "line\n\t{# comment #}\nnext", "line\nnext",
                "{% for m in messages %}\n    {{ m.role }}: {{ m.content }}\n{% endfor %}\n", "    user: Hi\n",
                "x\n  {%- if true %} y{% endif %}", "x y",
                "{% raw %}  {% x %}{% endraw %}\n  {% if true %}k{% endif %}", "  {% x %}k",
                "{{ 'a' }}  {% if true %}b{% endif %}", "a  b",
                "a\n   \n  {% if true %}\nb\n{% endif %}", "a\n   \nb\n");
        for (Map.Entry<String, String> c : expected.entrySet()) {
            assertEquals(c.getValue(), ChatTemplate.of(c.getKey(), Map.of()).render(prompt(USER_HI + "}")), c.getKey());
        }
    }

    @Test
    void plusRightBeforeADigitParsesAsJinjaReadsIt() throws IOException {
        // Jinjava's lexer alone rejects "idx+1"; the text around code, strings and raw blocks keep their "+1"
        ChatTemplate template = ChatTemplate.of("{% set n = messages|length %}{{ messages[:n-1+1] | length }} {{ n+1 }} {{ n +2 }} "
                + "{{ '+1' }} +1 {% raw %}{{ n+1 }}{% endraw %}", Map.of());
        assertEquals("1 2 3 +1 +1 {{ n+1 }}", template.render(prompt(USER_HI + "}")));
    }

    @Test
    void chatTemplateKwargsReachTheTemplateAndGenerationPromptDefaultsToTrue() throws IOException {
        // the Kimi K2 template with thinking that the checkpoint writer puts into generated checkpoints
        String kimi;
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("/io/moefleet/checkpoint/kimi-k2-chat-template.jinja")) {
            kimi = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        ChatTemplate template = ChatTemplate.of(kimi, Map.of());
        String thinking = template.render(prompt(USER_HI + "}"));
        assertTrue(thinking.endsWith("<|im_user|>user<|im_middle|>Hi<|im_end|><|im_assistant|>assistant<|im_middle|>"), thinking);
        String answering = template.render(prompt(USER_HI + ", \"chat_template_kwargs\": {\"thinking\": false}}"));
        assertEquals(thinking + "<think></think>", answering);
        String noPrompt = template.render(prompt(USER_HI + ", \"add_generation_prompt\": false}"));
        assertTrue(noPrompt.endsWith("Hi<|im_end|>"), noPrompt);
    }
}
