package io.moefleet.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.UnauthorizedException;
import com.openai.models.completions.CompletionCreateParams;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** API keys on the front door: 401 in each API's shape, /health open, /metrics behind the key, per-key limits as 429. */
@Timeout(120)
class ApiKeysTest {

    @TempDir
    Path dir;

    /** Permits enough for any test's steps: the scheduler never waits on them. */
    private static final int OPEN = Integer.MAX_VALUE / 2;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void aKeyIsAskedForInEachApisShapeAndTheOfficialClientPassesWithIt() throws Exception {
        try (ApiFixture api = ApiFixture.withKeys(dir, new ApiKeys(Map.of("sk-good", ApiKeys.Limits.NONE), false))) {
            HttpResponse<String> openAi = post(api, "/v1/completions", Map.of(), completion(2));
            assertEquals(401, openAi.statusCode());
            JsonNode error = new ObjectMapper().readTree(openAi.body()).path("error");
            assertEquals("authentication_error", error.path("type").asText());
            assertTrue(error.path("message").asText().contains("Authorization: Bearer"), openAi.body());

            HttpResponse<String> anthropic = post(api, "/v1/messages", Map.of("x-api-key", "sk-wrong"), """
                    {"model": "tiny-chat", "max_tokens": 2, "messages": [{"role": "user", "content": "Hi"}]}""");
            assertEquals(401, anthropic.statusCode());
            JsonNode body = new ObjectMapper().readTree(anthropic.body());
            assertEquals("error", body.path("type").asText());
            assertEquals("authentication_error", body.path("error").path("type").asText());
            assertEquals("the API key is not valid", body.path("error").path("message").asText());
            assertEquals(200, post(api, "/v1/messages", Map.of("x-api-key", "sk-good"), """
                    {"model": "tiny-chat", "max_tokens": 2, "messages": [{"role": "user", "content": "Hi"}]}""").statusCode());

            OpenAIClient wrong = OpenAIOkHttpClient.builder().baseUrl(api.baseUrl() + "/v1").apiKey("sk-wrong").maxRetries(0).build();
            assertThrows(UnauthorizedException.class, () -> wrong.completions().create(params()));
            OpenAIClient good = OpenAIOkHttpClient.builder().baseUrl(api.baseUrl() + "/v1").apiKey("sk-good").maxRetries(0).build();
            assertEquals(2, good.completions().create(params()).usage().orElseThrow().completionTokens());

            assertEquals(200, get(api, "/health", Map.of()).statusCode(), "health stays open");
            assertEquals(401, get(api, "/metrics", Map.of()).statusCode(), "metrics behind the key");
            assertEquals(200, get(api, "/metrics", Map.of("Authorization", "Bearer sk-good")).statusCode());
        }
    }

    @Test
    void metricsCanBeLeftOpen() throws Exception {
        try (ApiFixture api = ApiFixture.withKeys(dir, new ApiKeys(Map.of("sk-good", ApiKeys.Limits.NONE), true))) {
            assertEquals(200, get(api, "/metrics", Map.of()).statusCode());
            assertEquals(401, post(api, "/v1/completions", Map.of(), completion(1)).statusCode(), "the API still asks");
        }
    }

    @Test
    void aKeysLimitsAnswer429WithRetryAfter() throws Exception {
        Path keys = Files.writeString(dir.resolve("keys"), """
                # key          limits
                sk-rate        rpm=2
                sk-one         concurrent=1
                """);
        Path model = Files.createDirectories(dir.resolve("model"));
        // each scheduler step takes a permit: the test holds a stream under way by giving out no more
        Semaphore steps = new Semaphore(OPEN);
        try (ApiFixture api = ApiFixture.withKeys(model, ApiKeys.of(keys, null, ApiKeys.Limits.NONE, false), step -> chunks -> {
            steps.acquireUninterruptibly();
            return step.apply(chunks);
        })) {
            Map<String, String> rate = Map.of("Authorization", "Bearer sk-rate");
            assertEquals(200, post(api, "/v1/completions", rate, completion(1)).statusCode());
            assertEquals(200, post(api, "/v1/completions", rate, completion(1)).statusCode());
            HttpResponse<String> third = post(api, "/v1/completions", rate, completion(1));
            assertEquals(429, third.statusCode(), third.body());
            long retryAfter = Long.parseLong(third.headers().firstValue("Retry-After").orElseThrow());
            assertTrue(retryAfter >= 1 && retryAfter <= 60, "Retry-After " + retryAfter);

            Map<String, String> one = Map.of("Authorization", "Bearer sk-one");
            // a stream under way holds the key's one place: let it run two steps (its first event), hold it there and
            // try a second request (without the hold, the tiny model can finish all 50 tokens before the second arrives)
            steps.drainPermits();
            steps.release(2);
            HttpRequest.Builder streaming = HttpRequest.newBuilder(URI.create(api.baseUrl() + "/v1/completions"))
                    .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\": \"tiny-chat\", \"prompt\": [5, 6, 7], \"max_tokens\": 50, \"temperature\": 0, "
                                    + "\"ignore_eos\": true, \"stream\": true}"));
            one.forEach(streaming::header);
            HttpResponse<java.io.InputStream> longOne = http.send(streaming.build(), HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, longOne.statusCode());
            var events = new java.io.BufferedReader(new java.io.InputStreamReader(longOne.body(), java.nio.charset.StandardCharsets.UTF_8));
            String first = events.readLine();
            while (first != null && !first.startsWith("data: ")) {
                first = events.readLine();
            }
            HttpResponse<String> second = post(api, "/v1/completions", one, completion(1));
            assertEquals(429, second.statusCode(), "a second request beside the one under way");
            assertTrue(second.body().contains("under way"), second.body());
            steps.release(OPEN);
            boolean done = false;
            for (String line = events.readLine(); line != null; line = events.readLine()) {
                done |= line.equals("data: [DONE]");
            }
            assertTrue(done, "the stream under way finished");
            assertEquals(200, post(api, "/v1/completions", one, completion(1)).statusCode(), "once it is done the key is free again");
        }
    }

    @Test
    void aBadKeysFileIsRefusedNamingTheLine() throws Exception {
        Path keys = Files.writeString(dir.resolve("keys"), "sk-a rpm=2\nsk-b fast\n");
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> ApiKeys.of(keys, null, ApiKeys.Limits.NONE, false));
        assertEquals(keys + " line 2: 'fast' is not rpm=N or concurrent=N", error.getMessage());
        assertEquals("1 API key(s)", ApiKeys.of(null, "sk-secret", ApiKeys.Limits.NONE, false).toString(), "never the key itself");
    }

    private static CompletionCreateParams params() {
        return CompletionCreateParams.builder().model("tiny-chat").prompt("Hello").maxTokens(2).temperature(0.0).build();
    }

    private static String completion(int tokens) {
        return "{\"model\": \"tiny-chat\", \"prompt\": [5, 6, 7], \"max_tokens\": " + tokens + ", \"temperature\": 0, \"ignore_eos\": true}";
    }

    private HttpResponse<String> post(ApiFixture api, String path, Map<String, String> headers, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(api.baseUrl() + path)).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(request::header);
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(ApiFixture api, String path, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(api.baseUrl() + path));
        headers.forEach(request::header);
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
