package io.moefleet.router.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.moefleet.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The request fields that chat and text completions share beyond sampling: choices, streaming, stops, logprobs and
 * vLLM's serving-benchmark extras.
 *
 * @param logprobs      -1 for none, else how many most likely tokens to report beside each generated one
 * @param tokenIdsAsText vLLM's {@code return_tokens_as_token_ids}: tokens in logprobs read {@code token_id:N}
 */
record GenerationOptions(int n, boolean stream, boolean includeUsage, List<String> stop, Set<Integer> stopTokenIds,
        int logprobs, boolean ignoreEos, int minTokens, boolean tokenIdsAsText, OptionalInt maxTokens) {

    static final int MAX_CHOICES = 16;
    static final int MAX_TOP_LOGPROBS = 20;

    /** Reads the shared fields; {@code chat} selects the chat form of logprobs ({@code logprobs} + {@code top_logprobs}). */
    static GenerationOptions fromJson(JsonNode body, boolean chat, int vocabSize) {
        requireSamplingTypes(body);
        int n = Json.integer(body, "n", 1, MAX_CHOICES).orElse(1);
        boolean stream = Json.bool(body, "stream", false);
        boolean includeUsage = false;
        if (Json.present(body, "stream_options")) {
            JsonNode options = body.get("stream_options");
            if (!options.isObject()) {
                throw ApiException.badRequest("'stream_options' must be an object, got " + options);
            }
            includeUsage = Json.bool(options, "include_usage", false);
        }
        int logprobs;
        if (chat) {
            boolean wanted = Json.bool(body, "logprobs", false);
            OptionalInt top = Json.integer(body, "top_logprobs", 0, MAX_TOP_LOGPROBS);
            if (top.isPresent() && !wanted) {
                throw ApiException.badRequest("'top_logprobs' needs 'logprobs': true");
            }
            logprobs = wanted ? top.orElse(0) : -1;
        } else {
            logprobs = Json.integer(body, "logprobs", 0, MAX_TOP_LOGPROBS).orElse(-1);
        }
        String maxField = Json.present(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        OptionalInt maxTokens = Json.integer(body, maxField, 1, Integer.MAX_VALUE);
        int minTokens = Json.integer(body, "min_tokens", 0, Integer.MAX_VALUE).orElse(0);
        if (maxTokens.isPresent() && minTokens > maxTokens.getAsInt()) {
            throw ApiException.badRequest("'min_tokens' (" + minTokens + ") exceeds '" + maxField + "' (" + maxTokens.getAsInt() + ")");
        }
        return new GenerationOptions(n, stream, includeUsage, stops(body), stopTokenIds(body, vocabSize), logprobs,
                Json.bool(body, "ignore_eos", false), minTokens, Json.bool(body, "return_tokens_as_token_ids", false), maxTokens);
    }

    /** The ids that end a choice: the checkpoint's end ids unless ignored, and the request's stop ids. */
    Set<Integer> endTokens(int[] checkpointEnds) {
        Set<Integer> ends = new LinkedHashSet<>(stopTokenIds);
        if (!ignoreEos) {
            for (int id : checkpointEnds) {
                ends.add(id);
            }
        }
        return ends;
    }

    /** Choice {@code index}'s sampling: with a seed, each choice draws from its own seed, so choices differ. */
    static SamplingParams forChoice(SamplingParams params, int index) {
        if (params.seed().isEmpty() || index == 0) {
            return params;
        }
        return new SamplingParams(params.temperature(), params.topK(), params.topP(), params.minP(), params.presencePenalty(),
                params.frequencyPenalty(), params.repetitionPenalty(), params.logitBias(),
                OptionalLong.of(params.seed().getAsLong() + index));
    }

    /**
     * The sampling fields whose wrong types {@code ChatRequest.sampling} would let through (a seed that is not an
     * integer is ignored, a non-numeric logit bias read as 0, a fractional top_k truncated): 400 naming the field.
     */
    private static void requireSamplingTypes(JsonNode body) {
        Json.integer(body, "top_k", -1, Integer.MAX_VALUE);
        if (Json.present(body, "seed") && !(body.get("seed").isIntegralNumber() && body.get("seed").canConvertToLong())) {
            throw ApiException.badRequest("'seed' must be an integer, got " + body.get("seed"));
        }
        if (Json.present(body, "logit_bias")) {
            JsonNode bias = body.get("logit_bias");
            if (!bias.isObject()) {
                throw ApiException.badRequest("'logit_bias' must be an object of token ids to numbers, got " + bias);
            }
            bias.properties().forEach(entry -> {
                if (!entry.getValue().isNumber()) {
                    throw ApiException.badRequest("'logit_bias' of token " + entry.getKey() + " must be a number, got "
                            + entry.getValue());
                }
            });
        }
    }

    private static List<String> stops(JsonNode body) {
        if (!Json.present(body, "stop")) {
            return List.of();
        }
        JsonNode stop = body.get("stop");
        List<String> stops = new ArrayList<>();
        if (stop.isTextual()) {
            stops.add(stop.textValue());
        } else if (stop.isArray()) {
            for (JsonNode item : stop) {
                if (!item.isTextual()) {
                    throw ApiException.badRequest("'stop' must be a string or a list of strings, got " + stop);
                }
                stops.add(item.textValue());
            }
        } else {
            throw ApiException.badRequest("'stop' must be a string or a list of strings, got " + stop);
        }
        if (stops.stream().anyMatch(String::isEmpty)) {
            throw ApiException.badRequest("'stop' strings must not be empty");
        }
        return stops;
    }

    private static Set<Integer> stopTokenIds(JsonNode body, int vocabSize) {
        if (!Json.present(body, "stop_token_ids")) {
            return Set.of();
        }
        JsonNode ids = body.get("stop_token_ids");
        Set<Integer> out = new LinkedHashSet<>();
        if (!ids.isArray()) {
            throw ApiException.badRequest("'stop_token_ids' must be a list of token ids, got " + ids);
        }
        for (JsonNode id : ids) {
            if (!id.canConvertToInt() || !id.isIntegralNumber() || id.asInt() < 0 || id.asInt() >= vocabSize) {
                throw ApiException.badRequest("'stop_token_ids' holds " + id + ", not a token id in [0, " + vocabSize + ")");
            }
            out.add(id.asInt());
        }
        return out;
    }
}
