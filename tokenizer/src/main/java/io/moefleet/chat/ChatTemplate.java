package io.moefleet.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import io.moefleet.model.CheckpointException;
import io.moefleet.tokenizer.TokenizerConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A checkpoint's own Jinja chat template, rendered as Hugging Face's {@code apply_chat_template} renders it: Jinja with
 * {@code trim_blocks} and {@code lstrip_blocks}, Python's {@code json.dumps} behind {@code tojson},
 * {@code raise_exception}, request objects with Python's dict methods, the named special tokens ({@code bos_token},
 * {@code eos_token}, ...) as variables. {@link JinjavaSource} covers where Jinjava reads Jinja differently.
 * Thread-safe.
 */
public final class ChatTemplate {

    /** Newer Hugging Face checkpoints keep the template in a file of its own, which wins over tokenizer_config.json's. */
    public static final String TEMPLATE_FILE = "chat_template.jinja";

    private static final JinjavaConfig CONFIG = JinjavaConfig.newBuilder()
            .withTrimBlocks(true)
            .withLstripBlocks(false) // done by JinjavaSource, the way Jinja does it
            // message text is data: "{{ ... }}" inside it must come out as written, never be rendered again
            .withNestedInterpretationEnabled(false)
            // Jinja2's behaviour where Jinjava's differs by default
            .withLegacyOverrides(LegacyOverrides.newBuilder()
                    .withEvaluateMapKeys(true)
                    .withIterateOverMapKeys(true)
                    .withUsePyishObjectMapper(true)
                    .withParseWhitespaceControlStrictly(true)
                    .withUseTrimmingForNotesAndExpressions(true)
                    .withKeepNullableLoopValues(true)
                    .build())
            .build();

    private final Map<String, String> templatesByName;
    private final Map<String, Object> templateTokens;
    private final Jinjava jinjava = new Jinjava(CONFIG);

    private ChatTemplate(Map<String, String> templatesByName, Map<String, Object> templateTokens) {
        jinjava.registerFilter(new ToJsonFilter());
        jinjava.registerFunction(TemplateFunctions.raiseException());
        Map<String, String> prepared = new HashMap<>();
        templatesByName.forEach((name, text) -> prepared.put(name, JinjavaSource.prepare(text, jinjava.getGlobalContext())));
        this.templatesByName = Map.copyOf(prepared);
        this.templateTokens = Map.copyOf(templateTokens);
    }

    /** The template of a checkpoint: {@value #TEMPLATE_FILE} when present, else tokenizer_config.json's {@code chat_template}. */
    public static ChatTemplate read(Path checkpointDir) {
        TokenizerConfig config = TokenizerConfig.read(checkpointDir);
        Map<String, String> templates = config.chatTemplates();
        Path file = checkpointDir.resolve(TEMPLATE_FILE);
        if (Files.isRegularFile(file)) {
            try {
                templates = new HashMap<>(templates);
                templates.put("default", Files.readString(file, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
            }
        }
        if (templates.isEmpty()) {
            throw new CheckpointException("the checkpoint has no chat template: neither " + file + " nor a chat_template in "
                    + config.file());
        }
        try {
            return new ChatTemplate(templates, config.templateTokens());
        } catch (ChatTemplateException e) {
            // a checkpoint's file at fault: say which
            throw new CheckpointException((Files.isRegularFile(file) ? file + " or " : "") + config.file() + ": " + e.getMessage(), e);
        }
    }

    /** @param templateTokens variables every rendering sees, e.g. {@code bos_token} */
    public static ChatTemplate of(String template, Map<String, Object> templateTokens) {
        return new ChatTemplate(Map.of("default", template), templateTokens);
    }

    /** The prompt text, to be encoded with special tokens recognised. */
    public String render(ChatPrompt prompt) {
        Map<String, Object> variables = new LinkedHashMap<>(templateTokens);
        prompt.templateKwargs().forEach((name, value) -> variables.put(name, PythonDict.of(value)));
        variables.put("messages", PythonDict.of(prompt.messages()));
        if (prompt.tools() != null) {
            variables.put("tools", PythonDict.of(prompt.tools()));
        }
        variables.put("add_generation_prompt", prompt.addGenerationPrompt());
        RenderResult result;
        try {
            result = jinjava.renderForResult(template(prompt), variables);
        } catch (RuntimeException e) {
            throw failure(e);
        }
        Optional<TemplateError> fatal = result.getErrors().stream()
                .filter(error -> error.getSeverity() == TemplateError.ErrorType.FATAL)
                .findFirst();
        if (fatal.isPresent()) {
            TemplateError error = fatal.get();
            throw error.getException() != null
                    ? failure(error.getException())
                    : new ChatTemplateException("the chat template failed at line " + error.getLineno() + ": " + error.getMessage());
        }
        return prompt.continueFinalMessage() ? leaveFinalMessageOpen(result.getOutput(), prompt) : result.getOutput();
    }

    /**
     * Hugging Face's {@code continue_final_message}: the rendering is cut right after the last occurrence of the final
     * message's text, which drops the end-of-turn the template wrote after it (trailing whitespace of the message is
     * kept when the template kept it).
     */
    private static String leaveFinalMessageOpen(String rendered, ChatPrompt prompt) {
        String text = prompt.finalMessageText();
        String stripped = text.strip();
        int at = stripped.isEmpty() ? -1 : rendered.lastIndexOf(stripped);
        if (at < 0) {
            throw new ChatTemplateException("continue_final_message: the final message's text "
                    + (stripped.isEmpty() ? "is empty" : "does not appear in the rendered chat"));
        }
        String leftStripped = text.stripLeading();
        boolean keptAsWritten = rendered.startsWith(text, at) && text.equals(leftStripped);
        return rendered.substring(0, at + (keptAsWritten ? leftStripped.length() : stripped.length()));
    }

    /** Hugging Face's choice among named templates: {@code tool_use} for a request with tools when there is one. */
    private String template(ChatPrompt prompt) {
        if (prompt.tools() != null && templatesByName.containsKey("tool_use")) {
            return templatesByName.get("tool_use");
        }
        String template = templatesByName.get("default");
        if (template == null) {
            throw new ChatTemplateException("the checkpoint names its chat templates " + templatesByName.keySet()
                    + " and none is 'default'");
        }
        return template;
    }

    /** The template's own {@code raise_exception} keeps its message; anything else says the template broke. */
    private static ChatTemplateException failure(Throwable e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof ChatTemplateException rejection) {
                return rejection;
            }
        }
        return new ChatTemplateException("the chat template failed: " + e.getMessage(), e);
    }
}
