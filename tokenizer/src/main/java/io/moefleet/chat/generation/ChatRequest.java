package io.moefleet.chat.generation;

import com.fasterxml.jackson.databind.JsonNode;
import io.moefleet.chat.ChatPrompt;
import io.moefleet.grammar.JsonLimits;
import io.moefleet.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One chat completion to generate: the conversation, what the answer may or must contain, and how to sample it.
 *
 * @param tools the functions declared in {@code prompt.tools()}
 * @param parallelToolCalls whether a tool-calls section may hold more than one call
 * @param maxTokens the most tokens to generate; empty: until the context is full
 * @param jsonLimits the bounds on JSON that a schema leaves open (arguments, response formats)
 * @param stepBiases logit biases from a given step on (not part of the OpenAI request)
 */
public record ChatRequest(ChatPrompt prompt, List<ToolDefinition> tools, ToolChoice toolChoice, boolean parallelToolCalls,
        ResponseFormat responseFormat, SamplingParams sampling, OptionalInt maxTokens, JsonLimits jsonLimits,
        List<StepBias> stepBiases) {

    public ChatRequest {
        tools = List.copyOf(tools);
        stepBiases = List.copyOf(stepBiases);
        if (toolChoice.forcesCall() && tools.isEmpty()) {
            throw new IllegalArgumentException("tool_choice " + toolChoice.mode().name().toLowerCase() + " needs declared tools");
        }
        if (toolChoice.mode() == ToolChoice.Mode.NAMED && tools.stream().noneMatch(tool -> tool.name().equals(toolChoice.functionName()))) {
            throw new IllegalArgumentException("tool_choice names '" + toolChoice.functionName() + "', which is not a declared tool");
        }
        if (maxTokens.isPresent() && maxTokens.getAsInt() < 1) {
            throw new IllegalArgumentException("max_tokens must be >= 1, got " + maxTokens.getAsInt());
        }
    }

    /**
     * An OpenAI chat completion body: {@code messages}, {@code tools}, {@code tool_choice}, {@code parallel_tool_calls},
     * {@code response_format}, {@code max_completion_tokens} (or {@code max_tokens}), {@code temperature}, {@code top_p},
     * {@code seed}, {@code logit_bias}, {@code presence_penalty}, {@code frequency_penalty}; vLLM's {@code top_k},
     * {@code min_p}, {@code repetition_penalty}, {@code chat_template_kwargs}, {@code add_generation_prompt},
     * {@code continue_final_message}.
     */
    public static ChatRequest fromJson(JsonNode body) {
        ChatPrompt prompt = ChatPrompt.fromJson(body);
        List<ToolDefinition> tools = ToolDefinition.fromRequest(prompt.tools());
        String maxTokens = body.path("max_completion_tokens").isNumber() ? "max_completion_tokens" : "max_tokens";
        return new ChatRequest(prompt, tools, ToolChoice.fromJson(body.path("tool_choice"), !tools.isEmpty()),
                body.path("parallel_tool_calls").asBoolean(true), ResponseFormat.fromJson(body.path("response_format")),
                sampling(body), body.path(maxTokens).isNumber() ? OptionalInt.of((int) number(body, maxTokens, 0)) : OptionalInt.empty(),
                JsonLimits.DEFAULT, List.of());
    }

    public ChatRequest withStepBias(StepBias bias) {
        List<StepBias> biases = new ArrayList<>(stepBiases);
        biases.add(bias);
        return new ChatRequest(prompt, tools, toolChoice, parallelToolCalls, responseFormat, sampling, maxTokens, jsonLimits, biases);
    }

    public ChatRequest withJsonLimits(JsonLimits limits) {
        return new ChatRequest(prompt, tools, toolChoice, parallelToolCalls, responseFormat, sampling, maxTokens, limits, stepBiases);
    }

    /** The tools the model may call here: none under {@code none}, the named one under a named choice, else all. */
    public List<ToolDefinition> callableTools() {
        return switch (toolChoice.mode()) {
            case NONE -> List.of();
            case NAMED -> tools.stream().filter(tool -> tool.name().equals(toolChoice.functionName())).toList();
            case AUTO, REQUIRED -> tools;
        };
    }

    Set<String> callableNames() {
        return callableTools().stream().map(ToolDefinition::name).collect(Collectors.toUnmodifiableSet());
    }

    /**
     * The sampling fields of an OpenAI body (chat or completions): {@code temperature}, {@code top_p}, {@code top_k},
     * {@code min_p}, the penalties, {@code seed}, {@code logit_bias}.
     *
     * @throws IllegalArgumentException naming a field of the wrong type or out of range
     */
    public static SamplingParams sampling(JsonNode body) {
        SamplingParams.Builder params = SamplingParams.builder()
                .temperature(number(body, "temperature", 1.0))
                .topP(number(body, "top_p", 1.0))
                .topK((int) number(body, "top_k", 0))
                .minP(number(body, "min_p", 0.0))
                .presencePenalty(number(body, "presence_penalty", 0.0))
                .frequencyPenalty(number(body, "frequency_penalty", 0.0))
                .repetitionPenalty(number(body, "repetition_penalty", 1.0));
        if (body.path("seed").isIntegralNumber()) {
            params.seed(body.get("seed").asLong());
        }
        Map<Integer, Float> bias = new HashMap<>();
        for (Map.Entry<String, JsonNode> entry : body.path("logit_bias").properties()) {
            try {
                bias.put(Integer.parseInt(entry.getKey()), (float) entry.getValue().asDouble());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("logit_bias key '" + entry.getKey() + "' is not a token id");
            }
        }
        return params.logitBias(bias).build();
    }

    /** A numeric field; absent or null gives the default. */
    private static double number(JsonNode body, String field, double absent) {
        JsonNode value = body.path(field);
        if (value.isMissingNode() || value.isNull()) {
            return absent;
        }
        if (!value.isNumber()) {
            throw new IllegalArgumentException("'" + field + "' must be a number, got " + value);
        }
        return value.asDouble();
    }
}
