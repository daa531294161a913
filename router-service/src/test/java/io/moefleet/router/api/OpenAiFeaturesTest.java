package io.moefleet.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import io.moefleet.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API's features through the official OpenAI Java SDK against the real server: tool calls, token-id prompts,
 * logprobs, several choices, stop sequences, thinking, and concurrent streams that each match their request alone.
 */
class OpenAiFeaturesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path checkpoint;
    private static ApiFixture api;
    private static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        api = ApiFixture.start(checkpoint);
        client = OpenAIOkHttpClient.builder().baseUrl(api.baseUrl() + "/v1").apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() throws Exception {
        client.close();
        api.close();
    }

    @Test
    void aForcedToolCallHasSchemaValidArgumentsAndItsResultLeadsToAnAnswer() throws Exception {
        FunctionDefinition weather = FunctionDefinition.builder().name("weather").description("The weather in a city")
                .parameters(FunctionParameters.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of(
                                "city", Map.of("type", "string", "maxLength", 8),
                                "unit", Map.of("enum", List.of("c", "f")))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("city", "unit")))
                        .putAdditionalProperty("additionalProperties", JsonValue.from(false))
                        .build())
                .build();
        ChatCompletionCreateParams ask = ChatCompletionCreateParams.builder().model(ApiFixture.MODEL)
                .addUserMessage("What is the weather in Paris?")
                .addTool(ChatCompletionFunctionTool.builder().function(weather).build())
                .toolChoice(ChatCompletionToolChoiceOption.ofNamedToolChoice(ChatCompletionNamedToolChoice.builder()
                        .function(ChatCompletionNamedToolChoice.Function.builder().name("weather").build()).build()))
                .temperature(0.7).seed(5).maxCompletionTokens(64)
                .putAdditionalBodyProperty("chat_template_kwargs", JsonValue.from(Map.of("thinking", false)))
                .build();
        ChatCompletion called = client.chat().completions().create(ask);
        ChatCompletion.Choice choice = called.choices().getFirst();
        assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
        List<ChatCompletionMessageToolCall> calls = choice.message().toolCalls().orElseThrow();
        assertEquals(1, calls.size());
        ChatCompletionMessageFunctionToolCall call = calls.getFirst().asFunction();
        assertEquals("weather", call.function().name());
        JsonNode arguments = JSON.readTree(call.function().arguments());
        String city = arguments.path("city").asText();
        // maxLength counts code points, as JSON Schema does; a character outside the BMP is two Java chars
        assertTrue(arguments.path("city").isTextual() && city.codePointCount(0, city.length()) <= 8, arguments.toString());
        assertTrue(List.of("c", "f").contains(arguments.path("unit").asText()), arguments.toString());
        assertEquals(2, arguments.size(), arguments.toString());

        ChatCompletion answer = client.chat().completions().create(ask.toBuilder()
                .addMessage(choice.message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("18 degrees, sunny").build())
                .toolChoice(ChatCompletionToolChoiceOption.Auto.NONE)
                .build());
        ChatCompletion.Choice final_ = answer.choices().getFirst();
        assertNotEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, final_.finishReason());
        List<ChatCompletionMessageToolCall> answerCalls = final_.message().toolCalls().orElse(List.of());
        assertTrue(answerCalls.isEmpty(), answerCalls.toString());
        assertFalse(final_.message().content().orElse("").isEmpty(), final_.toString());
    }

    @Test
    void aTokenIdPromptCompletesAsTheEngineDoesWithTokenIdLogprobs() {
        int[] prompt = {5, 9, 14, 3, 27, 8};
        Completion completion = client.completions().create(CompletionCreateParams.builder().model(ApiFixture.MODEL)
                .prompt(CompletionCreateParams.Prompt.ofArrayOfTokens(Arrays.stream(prompt).mapToLong(i -> i).boxed().toList()))
                .maxTokens(8).temperature(0.0).logprobs(3)
                .putAdditionalBodyProperty("return_tokens_as_token_ids", JsonValue.from(true))
                .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                .build());
        int[] expected = api.engine.generate(prompt, 8, SamplingParams.greedy());
        CompletionChoice choice = completion.choices().getFirst();
        List<String> tokens = choice.logprobs().orElseThrow().tokens().orElseThrow();
        assertEquals(Arrays.stream(expected).mapToObj(id -> "token_id:" + id).toList(), tokens);
        List<Double> logprobs = choice.logprobs().orElseThrow().tokenLogprobs().orElseThrow();
        List<Map<String, Double>> top = new ArrayList<>();
        choice.logprobs().orElseThrow().topLogprobs().orElseThrow().forEach(entry -> {
            Map<String, Double> map = new java.util.HashMap<>();
            entry._additionalProperties().forEach((token, value) -> map.put(token, Double.parseDouble(value.toString())));
            top.add(map);
        });
        for (int i = 0; i < expected.length; i++) {
            assertTrue(logprobs.get(i) <= 0);
            assertEquals(3, top.get(i).size());
            double best = top.get(i).values().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
            assertEquals(best, logprobs.get(i), 1e-6, "greedy picks the most likely token");
            assertTrue(top.get(i).containsKey("token_id:" + expected[i]));
        }
        assertEquals(CompletionChoice.FinishReason.LENGTH, choice.finishReason());
        assertEquals(6, completion.usage().orElseThrow().promptTokens());
        assertEquals(8, completion.usage().orElseThrow().completionTokens());
    }

    /** ignore_eos keeps end-of-turn ids out while the answer can go on, even when the request pushes one (found by fuzzing: a 500). */
    @Test
    void aChatIgnoringEosRunsToItsLengthEvenWhenAnEndIsFavoured() {
        int imEnd = api.encoder.tokenizer().specialTokens().id("<|im_end|>").orElseThrow();
        String body = "{\"model\": \"" + ApiFixture.MODEL + "\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
                + "\"max_tokens\": 12, \"temperature\": 0, \"ignore_eos\": true, \"logit_bias\": {\"" + imEnd + "\": 100}}";
        JsonNode answer = RawHttp.json(new RawHttp(api.baseUrl()).post("/v1/chat/completions", body).body());
        assertEquals("length", answer.path("choices").path(0).path("finish_reason").asText(), answer.toString());
        assertEquals(12, answer.path("usage").path("completion_tokens").asInt(), answer.toString());
        assertFalse(answer.path("choices").path(0).path("message").path("content").asText().contains("<|im_end|>"), answer.toString());
    }

    @Test
    void severalChoicesWithASeedDifferAndEachIsReproducible() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(ApiFixture.MODEL)
                .addUserMessage("Say something").n(3).temperature(1.0).seed(42).maxCompletionTokens(10).build();
        ChatCompletion first = client.chat().completions().create(params);
        ChatCompletion again = client.chat().completions().create(params);
        assertEquals(3, first.choices().size());
        List<String> texts = first.choices().stream().map(OpenAiFeaturesTest::allText).toList();
        assertEquals(texts, again.choices().stream().map(OpenAiFeaturesTest::allText).toList());
        assertTrue(texts.stream().distinct().count() > 1, texts.toString());
        assertEquals(List.of(0L, 1L, 2L), first.choices().stream().map(ChatCompletion.Choice::index).toList());
    }

    @Test
    void aStopSequenceEndsTheAnswerBeforeIt() {
        ChatCompletionCreateParams.Builder params = ChatCompletionCreateParams.builder().model(ApiFixture.MODEL)
                .addUserMessage("Write freely").temperature(0.0).maxCompletionTokens(24)
                .putAdditionalBodyProperty("chat_template_kwargs", JsonValue.from(Map.of("thinking", false)))
                .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true));
        String free = client.chat().completions().create(params.build()).choices().getFirst().message().content().orElseThrow();
        assertTrue(free.length() > 6, free);
        String stop = free.substring(free.length() / 2, free.length() / 2 + 2);
        ChatCompletion stopped = client.chat().completions().create(params.stop(stop).build());
        ChatCompletion.Choice choice = stopped.choices().getFirst();
        assertEquals(ChatCompletion.Choice.FinishReason.STOP, choice.finishReason());
        assertEquals(free.substring(0, free.indexOf(stop)), choice.message().content().orElseThrow());
    }

    @Test
    void aThinkingTurnReturnsReasoningUnderBothNamesAndNoneWhenThinkingIsOff() {
        ChatCompletionCreateParams.Builder params = ChatCompletionCreateParams.builder().model(ApiFixture.MODEL)
                .addUserMessage("Think about it").temperature(0.0).maxCompletionTokens(12);
        ChatCompletionMessage thinking = client.chat().completions().create(params.build()).choices().getFirst().message();
        JsonValue reasoning = thinking._additionalProperties().get("reasoning_content");
        assertTrue(reasoning != null && !String.valueOf(reasoning.asString().orElseThrow()).isEmpty(), thinking.toString());
        assertEquals(reasoning, thinking._additionalProperties().get("reasoning"));
        ChatCompletionMessage plain = client.chat().completions().create(params
                .putAdditionalBodyProperty("chat_template_kwargs", JsonValue.from(Map.of("thinking", false))).build())
                .choices().getFirst().message();
        assertEquals(null, plain._additionalProperties().get("reasoning_content"));
        assertFalse(plain.content().orElse("").isEmpty());
    }

    @Test
    void thirtyTwoConcurrentStreamsEachGiveTheTokensOfTheirRequestAlone() throws Exception {
        List<CompletionCreateParams> requests = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            int[] prompt = {3 + i, 7, 11 + i % 5, 2, 40 + i};
            requests.add(CompletionCreateParams.builder().model(ApiFixture.MODEL)
                    .prompt(CompletionCreateParams.Prompt.ofArrayOfTokens(Arrays.stream(prompt).mapToLong(t -> t).boxed().toList()))
                    .maxTokens(12).temperature(0.0).logprobs(0)
                    .putAdditionalBodyProperty("return_tokens_as_token_ids", JsonValue.from(true))
                    .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                    .build());
        }
        List<List<String>> alone = new ArrayList<>();
        for (CompletionCreateParams request : requests) {
            alone.add(streamedTokens(request));
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(32)) {
            List<Future<List<String>>> together = new ArrayList<>();
            for (CompletionCreateParams request : requests) {
                together.add(pool.submit(() -> streamedTokens(request)));
            }
            for (int i = 0; i < requests.size(); i++) {
                assertEquals(alone.get(i), together.get(i).get(), "request " + i);
                assertEquals(12, alone.get(i).size());
            }
        }
    }

    private static List<String> streamedTokens(CompletionCreateParams request) {
        List<String> tokens = new ArrayList<>();
        try (StreamResponse<Completion> stream = client.completions().createStreaming(request)) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(choice ->
                    choice.logprobs().flatMap(CompletionChoice.Logprobs::tokens).ifPresent(tokens::addAll)));
        }
        return tokens;
    }

    private static String allText(ChatCompletion.Choice choice) {
        JsonValue reasoning = choice.message()._additionalProperties().get("reasoning_content");
        return (reasoning == null ? "" : reasoning.asString().orElseThrow()) + "|" + choice.message().content().orElse("");
    }
}
