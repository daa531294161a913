package io.moefleet.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessage;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Chat completions through the official OpenAI Java SDK against the real server. */
class OpenAiChatTest {

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
    void aGreedyChatAnswersWithUsageAndAFinishReason() {
        ChatCompletion completion = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model(ApiFixture.MODEL).addUserMessage("Hello there").temperature(0.0).maxCompletionTokens(12).build());
        assertEquals(1, completion.choices().size());
        ChatCompletion.Choice choice = completion.choices().getFirst();
        assertTrue(choice.finishReason().equals(ChatCompletion.Choice.FinishReason.LENGTH)
                || choice.finishReason().equals(ChatCompletion.Choice.FinishReason.STOP), choice.toString());
        long completionTokens = completion.usage().orElseThrow().completionTokens();
        assertTrue(completionTokens >= 1 && completionTokens <= 12, completion.toString());
        assertTrue(completion.usage().orElseThrow().promptTokens() > 3);
    }

    @Test
    void streamingGivesTheSameTextAsTheWholeAnswer() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(ApiFixture.MODEL)
                .addUserMessage("Tell me a story").temperature(0.0).maxCompletionTokens(16).build();
        ChatCompletion whole = client.chat().completions().create(params);
        StringBuilder streamed = new StringBuilder();
        StringBuilder reasoning = new StringBuilder();
        int chunks = 0;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                chunks++;
                chunk.choices().forEach(c -> {
                    c.delta().content().ifPresent(streamed::append);
                    JsonValue piece = c.delta()._additionalProperties().get("reasoning_content");
                    if (piece != null) {
                        reasoning.append(piece.asString().orElseThrow());
                    }
                });
            }
        }
        assertTrue(chunks > 1);
        ChatCompletionMessage message = whole.choices().getFirst().message();
        assertEquals(message.content().orElse(""), streamed.toString());
        JsonValue wholeReasoning = message._additionalProperties().get("reasoning_content");
        assertEquals(wholeReasoning == null ? "" : wholeReasoning.asString().orElseThrow(), reasoning.toString());
        assertFalse(streamed.isEmpty() && reasoning.isEmpty(), "16 tokens give some text");
    }
}
