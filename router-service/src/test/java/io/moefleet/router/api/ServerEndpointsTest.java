package io.moefleet.router.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.models.Model;
import io.moefleet.chat.ChatPrompt;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The endpoints beside generation: models, vLLM's tokenize and detokenize, health and Prometheus metrics. */
class ServerEndpointsTest {

    @TempDir
    static Path checkpoint;
    private static ApiFixture api;
    private static RawHttp http;

    @BeforeAll
    static void start() throws Exception {
        api = ApiFixture.start(checkpoint);
        http = new RawHttp(api.baseUrl());
    }

    @AfterAll
    static void stop() throws Exception {
        api.close();
    }

    @Test
    void theModelListNamesTheServedModelThroughTheOpenAiSdk() {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(api.baseUrl() + "/v1").apiKey("unused").maxRetries(0).build();
        try {
            List<String> ids = client.models().list().data().stream().map(Model::id).toList();
            assertEquals(List.of(ApiFixture.MODEL), ids);
        } finally {
            client.close();
        }
    }

    @Test
    void tokenizeGivesTheTokenizersIdsAndDetokenizeTheTextBack() {
        String text = "The fleet of experts answers";
        JsonNode tokenized = RawHttp.json(http.post("/tokenize", "{\"prompt\": \"" + text + "\"}").body());
        int[] ids = ids(tokenized.get("tokens"));
        int[] expected = api.encoder.tokenizer().encode(text, true);
        int[] withBos = api.encoder.tokenizer().sequenceMarkers().addBos()
                ? prepend(api.encoder.tokenizer().sequenceMarkers().bos().orElseThrow(), expected) : expected;
        assertArrayEquals(withBos, ids);
        assertEquals(ids.length, tokenized.get("count").asInt());
        assertEquals(api.served.contextLength(), tokenized.get("max_model_len").asInt());

        HttpResponse<String> detokenized = http.post("/detokenize", "{\"tokens\": " + tokenized.get("tokens") + "}");
        assertEquals(200, detokenized.statusCode(), detokenized.body());
        assertTrue(RawHttp.json(detokenized.body()).get("prompt").asText().endsWith(text), detokenized.body());
    }

    @Test
    void tokenizeRendersMessagesWithTheChatTemplate() throws Exception {
        String body = "{\"model\": \"" + ApiFixture.MODEL + "\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi there\"}]}";
        int[] ids = ids(RawHttp.json(http.post("/tokenize", body).body()).get("tokens"));
        assertArrayEquals(api.encoder.encode(ChatPrompt.fromJson(RawHttp.MAPPER.readTree(body))), ids);
    }

    @Test
    void healthAndMetricsAnswerInTheirFormats() {
        HttpResponse<String> health = http.get("/health");
        assertEquals(200, health.statusCode());
        assertEquals("serving", RawHttp.json(health.body()).get("status").asText());
        http.post("/v1/completions", "{\"model\": \"" + ApiFixture.MODEL + "\", \"prompt\": [1, 2, 3], \"max_tokens\": 2}");
        HttpResponse<String> metrics = http.get("/metrics");
        assertEquals(200, metrics.statusCode());
        assertTrue(metrics.headers().firstValue("content-type").orElse("").startsWith("text/plain"), metrics.headers().toString());
        assertTrue(RawHttp.metric(metrics.body(), "moefleet_generation_tokens_total") >= 2, metrics.body());
        assertTrue(metrics.body().contains("moefleet_http_requests_total{route=\"/v1/completions\",status=\"200\"}"), metrics.body());
        assertTrue(metrics.body().contains("moefleet_scheduler_step_seconds_bucket"), metrics.body());
    }

    private static int[] ids(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }

    private static int[] prepend(int first, int[] rest) {
        int[] out = new int[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }
}
