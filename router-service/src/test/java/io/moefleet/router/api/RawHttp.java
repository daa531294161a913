package io.moefleet.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.function.DoublePredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Raw HTTP for the API's tests (java.net.http, HTTP/1.1), and checks of OpenAI's error body. */
final class RawHttp {

    static final ObjectMapper MAPPER = new ObjectMapper();
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;

    RawHttp(String base) {
        this.base = base;
    }

    HttpClient client() {
        return client;
    }

    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT);
    }

    HttpRequest postRequest(String path, String body) {
        return request(path).header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    HttpResponse<String> post(String path, String body) {
        return send(postRequest(path, body));
    }

    HttpResponse<String> get(String path) {
        return send(request(path).GET().build());
    }

    HttpResponse<String> send(HttpRequest request) {
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The value of a metric (first sample whose name and labels start with {@code series}) in the /metrics text. */
    double metric(String series) {
        HttpResponse<String> metrics = get("/metrics");
        assertEquals(200, metrics.statusCode());
        return metric(metrics.body(), series);
    }

    /** Polls {@code /metrics} until {@code series} satisfies {@code condition}, failing after {@code timeout}. */
    void awaitMetric(String series, DoublePredicate condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        double value = metric(series);
        while (!condition.test(value)) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting until " + what + ": " + series + " is " + value);
            }
            Thread.sleep(20);
            value = metric(series);
        }
    }

    static double metric(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + "(?:\\{[^}]*})? ([-+0-9.eE]+|NaN)$").matcher(text);
        if (!m.find()) {
            throw new AssertionError("no series " + series + " in\n" + text);
        }
        return Double.parseDouble(m.group(1));
    }

    static JsonNode json(String body) {
        try {
            return MAPPER.readTree(body);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + body, e);
        }
    }

    /**
     * Checks an OpenAI error answer: the status, a JSON body {@code {"error": {"message", "type", "param", "code"}}}
     * with that type and the status as code, and a message naming each of {@code mentions} (compared without case and
     * underscores, so that {@code top_p} matches {@code topP}).
     *
     * @return the error object
     */
    static JsonNode assertOpenAiError(HttpResponse<String> response, int status, String type, String... mentions) {
        assertEquals(status, response.statusCode(), () -> "status; body: " + response.body());
        assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("application/json"),
                () -> "content-type " + response.headers().firstValue("content-type"));
        JsonNode body = json(response.body());
        JsonNode error = body.get("error");
        assertNotNull(error, () -> "no 'error' in " + response.body());
        assertTrue(error.path("message").isTextual() && !error.path("message").textValue().isBlank(), response.body());
        assertEquals(type, error.path("type").asText(), response.body());
        assertTrue(error.has("param"), () -> "no 'param' in " + response.body());
        assertEquals(status, error.path("code").asInt(), response.body());
        String message = normalise(error.path("message").textValue());
        for (String mention : mentions) {
            assertTrue(message.contains(normalise(mention)), () -> "the message should name " + mention + ": " + response.body());
        }
        return error;
    }

    /** The Retry-After header in whole seconds (at least 1), failing when absent. */
    static long retryAfter(HttpResponse<?> response) {
        String value = response.headers().firstValue("retry-after")
                .orElseThrow(() -> new AssertionError("no Retry-After on a " + response.statusCode()));
        long seconds = Long.parseLong(value.trim());
        assertTrue(seconds >= 1, "Retry-After " + value);
        return seconds;
    }

    private static String normalise(String text) {
        return text.toLowerCase(Locale.ROOT).replace("_", "");
    }
}
