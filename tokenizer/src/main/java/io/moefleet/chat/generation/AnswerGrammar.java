package io.moefleet.chat.generation;

import io.moefleet.chat.output.KimiMarkers;
import io.moefleet.grammar.Grammar;
import io.moefleet.grammar.JsonSchemaRules;
import io.moefleet.grammar.Rule;
import io.moefleet.grammar.UnsupportedSchemaException;
import io.moefleet.tokenizer.SpecialTokens;
import java.util.ArrayList;
import java.util.List;

/**
 * The grammar of one request's answer in the Kimi K2 format, from the first generated token to the end-of-turn:
 * <pre>
 * answer    := reasoning? reply end
 * reasoning := &lt;think&gt;? text (&lt;/think&gt; | before a section)        only when thinking
 * reply     := text section?               tool_choice auto, text format
 *            | content | section           tool_choice auto, JSON format
 *            | section                     tool_choice required or named: the section opens right after reasoning
 *            | content                     tool_choice none, or no tools
 * section   := &lt;|tool_calls_section_begin|&gt; call+ &lt;|tool_calls_section_end|&gt;     one call unless parallel
 * call      := &lt;|tool_call_begin|&gt; functions.NAME:INDEX &lt;|tool_call_argument_begin|&gt; ws ARGS ws &lt;|tool_call_end|&gt;
 * </pre>
 * NAME is one of the callable tools and ARGS a value of its parameter schema ({@link JsonSchemaRules}); a tool whose
 * schema uses what the grammar cannot honour gets any JSON object, its name still constrained. Content is free text,
 * or for a JSON response format a value of it. Markers are written only with their special tokens: ordinary tokens
 * can never spell one, so the output parsers always see what the grammar saw.
 */
final class AnswerGrammar {

    private static final System.Logger LOG = System.getLogger(AnswerGrammar.class.getName());

    /** Kimi K2 numbers calls across a conversation; four digits leave room for long agent runs. */
    private static final int MAX_CALL_INDEX = 9999;

    private final SpecialTokens specials;

    private AnswerGrammar(SpecialTokens specials) {
        this.specials = specials;
    }

    /**
     * @param thinking whether the answer starts in reasoning
     * @param endIds the end-of-turn tokens, one of which closes the answer
     */
    static Grammar of(ChatRequest request, boolean thinking, SpecialTokens specials, int[] endIds) {
        return new AnswerGrammar(specials).build(request, thinking, endIds);
    }

    private Grammar build(ChatRequest request, boolean thinking, int[] endIds) {
        if (endIds.length == 0) {
            throw new IllegalArgumentException("the checkpoint defines no end-of-sequence token, so an answer could never end");
        }
        List<Rule> ends = new ArrayList<>();
        for (int id : endIds) {
            ends.add(Rule.special(id));
        }
        List<ToolDefinition> callable = request.callableTools();
        Rule section = callable.isEmpty() ? null : section(callable, request);
        Rule content = content(request);
        boolean textFormat = request.responseFormat().type() == ResponseFormat.Type.TEXT;
        Rule reply;
        if (request.toolChoice().forcesCall()) {
            reply = section;
        } else if (section == null) {
            reply = content;
        } else {
            reply = textFormat ? Rule.sequence(content, Rule.optional(section)) : Rule.choice(content, section);
        }
        boolean replyMayBeEmpty = textFormat && !request.toolChoice().forcesCall();
        Rule answer = thinking ? reasoningThen(reply, section, replyMayBeEmpty) : reply;
        return Grammar.of(Rule.sequence(answer, Rule.choice(ends)), KimiMarkers.ALL);
    }

    private Rule reasoningThen(Rule reply, Rule section, boolean replyMayBeEmpty) {
        List<Rule> afterReasoning = new ArrayList<>();
        afterReasoning.add(Rule.sequence(marker(KimiMarkers.THINK_END), reply));
        if (section != null) {
            afterReasoning.add(section);                       // reasoning also ends where a tool-calls section begins
        }
        if (replyMayBeEmpty) {
            afterReasoning.add(Rule.empty());                  // the model may stop while reasoning
        }
        return Rule.sequence(Rule.optional(marker(KimiMarkers.THINK_BEGIN)), Rule.anyText(), Rule.choice(afterReasoning));
    }

    private Rule content(ChatRequest request) {
        Rule whitespace = JsonSchemaRules.whitespace(request.jsonLimits());
        return switch (request.responseFormat().type()) {
            case TEXT -> Rule.anyText();
            case JSON_OBJECT -> Rule.sequence(whitespace, JsonSchemaRules.anyObject(request.jsonLimits()), whitespace);
            case JSON_SCHEMA -> Rule.sequence(whitespace,
                    JsonSchemaRules.value(request.responseFormat().schema().orElseThrow(), request.jsonLimits()), whitespace);
        };
    }

    private Rule section(List<ToolDefinition> tools, ChatRequest request) {
        Rule whitespace = JsonSchemaRules.whitespace(request.jsonLimits());
        List<Rule> named = new ArrayList<>();
        for (ToolDefinition tool : tools) {
            named.add(Rule.sequence(Rule.literal(tool.name() + ":"), Rule.integer(0, MAX_CALL_INDEX),
                    marker(KimiMarkers.TOOL_CALL_ARGUMENTS), whitespace, arguments(tool, request), whitespace));
        }
        Rule call = Rule.sequence(marker(KimiMarkers.TOOL_CALL_BEGIN), Rule.literal(KimiMarkers.CALL_ID_PREFIX),
                Rule.choice(named), marker(KimiMarkers.TOOL_CALL_END));
        int maxCalls = request.parallelToolCalls() && request.toolChoice().mode() != ToolChoice.Mode.NAMED ? Rule.UNBOUNDED : 1;
        return Rule.sequence(marker(KimiMarkers.TOOL_CALLS_BEGIN), Rule.repeat(call, 1, maxCalls), marker(KimiMarkers.TOOL_CALLS_END));
    }

    private static Rule arguments(ToolDefinition tool, ChatRequest request) {
        if (tool.parameters().isEmpty()) {
            return Rule.literal("{}");
        }
        try {
            return JsonSchemaRules.value(tool.parameters().get(), request.jsonLimits());
        } catch (UnsupportedSchemaException e) {
            LOG.log(System.Logger.Level.INFO, "tool {0}: arguments constrained to any JSON object ({1})", tool.name(), e.getMessage());
            return JsonSchemaRules.anyObject(request.jsonLimits());
        }
    }

    private Rule marker(String text) {
        return Rule.special(specials.id(text).orElseThrow(() -> new IllegalArgumentException(
                "the checkpoint's vocabulary has no token for " + text + ", which this request needs")));
    }
}
