package io.moefleet.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.chat.generation.ChatRequest;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.DoublePredicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that goes away is cancelled at once: its generation leaves the batch at the next step and its KV cache is
 * freed, which {@code /metrics} shows as {@code moefleet_scheduler_cancelled_total} rising and
 * {@code moefleet_scheduler_running} back at 0, long before the request's {@code max_tokens} could run out.
 */
class ClientDisconnectTest {

    private static final String CHAT = "/v1/chat/completions";
    private static final String COMPLETIONS = "/v1/completions";
    private static final Duration WAIT = Duration.ofSeconds(5);

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

    @BeforeEach
    void idle() throws Exception {
        awaitMetric("moefleet_scheduler_running", v -> v == 0, "nothing runs before the test");
    }

    @Test
    void aStreamingClientClosingItsSocketIsCancelledAndItsKvFreed() throws Exception {
        double cancelled = http.metric("moefleet_scheduler_cancelled_total");
        try (Socket socket = new Socket("127.0.0.1", api.port)) {
            send(socket, chat(true, "Tell me a very long story about a fleet of experts."));
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String status = in.readLine();
            assertTrue(status.startsWith("HTTP/1.1 200"), status);
            String event = firstData(in);
            assertTrue(event.contains("chat.completion.chunk"), event);
            assertEquals(1.0, http.metric("moefleet_scheduler_running"), "the generation runs");
        }                                                        // the client goes away mid-stream
        assertCancelledAndFreed(cancelled);
    }

    @Test
    void aStreamingClientClosingTheResponseStreamIsCancelled() throws Exception {
        double cancelled = http.metric("moefleet_scheduler_cancelled_total");
        HttpResponse<InputStream> response = http.client().send(
                http.postRequest(CHAT, chat(true, "Another long story, please.").toString()),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, response.statusCode());
        try (InputStream body = response.body()) {
            String event = firstData(new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8)));
            assertTrue(event.contains("chat.completion.chunk"), event);
        }
        assertCancelledAndFreed(cancelled);
    }

    @Test
    void aNonStreamingClientThatGoesAwayIsCancelled() throws Exception {
        double cancelled = http.metric("moefleet_scheduler_cancelled_total");
        try (Socket socket = new Socket("127.0.0.1", api.port)) {
            send(socket, chat(false, "Write the longest essay you can."));
            awaitMetric("moefleet_generation_tokens_total", v -> v > 0, "the generation started");
            awaitMetric("moefleet_scheduler_running", v -> v == 1, "the generation runs");
        }
        assertCancelledAndFreed(cancelled);
    }

    @Test
    void aClientGoneBeforeItsRequestJoinsTheBatchIsNeverRun() throws Exception {
        // a long prompt: rendering and encoding it on a worker takes a while, and the client is gone before it ends
        double cancelled = http.metric("moefleet_scheduler_cancelled_total");
        String longQuestion = "Which experts will the router pick for this token, and why? ".repeat(2_000);
        try (Socket socket = new Socket("127.0.0.1", api.port)) {
            send(socket, chat(true, longQuestion));
        }
        assertCancelledAndFreed(cancelled);
    }

    @Test
    void aStreamingCompletionClientThatGoesAwayIsCancelled() throws Exception {
        double cancelled = http.metric("moefleet_scheduler_cancelled_total");
        try (Socket socket = new Socket("127.0.0.1", api.port)) {
            send(socket, COMPLETIONS, completion(true, "Once upon a time"));
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            assertTrue(firstData(in).contains("text_completion"));
        }
        assertCancelledAndFreed(cancelled);
    }

    @Test
    void aCompletionClientGoneBeforeItsRequestJoinsTheBatchIsNeverRun() throws Exception {
        double cancelled = http.metric("moefleet_scheduler_cancelled_total");
        try (Socket socket = new Socket("127.0.0.1", api.port)) {
            send(socket, COMPLETIONS, completion(false, "Experts, attention and a router walk into a bar. ".repeat(3_000)));
        }
        assertCancelledAndFreed(cancelled);
    }

    // ---------------------------------------------------------------------------------------------------------------

    /** A greedy completion with a budget far beyond what runs in the test, end tokens ignored. */
    private static ObjectNode completion(boolean stream, String prompt) {
        ObjectNode body = RawHttp.MAPPER.createObjectNode();
        body.put("model", ApiFixture.MODEL);
        body.put("prompt", prompt);
        body.put("stream", stream);
        body.put("temperature", 0);
        body.put("ignore_eos", true);
        body.put("max_tokens", 100_000);
        return body;
    }

    /** A greedy chat with a budget far beyond what runs in the test, its end tokens biased away so it never ends itself. */
    private static ObjectNode chat(boolean stream, String question) {
        ObjectNode body = RawHttp.MAPPER.createObjectNode();
        body.put("model", ApiFixture.MODEL);
        body.putArray("messages").addObject().put("role", "user").put("content", question);
        body.put("stream", stream);
        body.put("temperature", 0);
        body.put("max_tokens", 100_000);
        Set<Integer> ends = new LinkedHashSet<>();
        for (int id : api.served.chat().prepare(ChatRequest.fromJson(body)).endTokens()) {
            ends.add(id);
        }
        for (int id : api.served.tokenizer().sequenceMarkers().eos()) {
            ends.add(id);
        }
        ObjectNode bias = body.putObject("logit_bias");
        ends.forEach(id -> bias.put(Integer.toString(id), -100));
        return body;
    }

    private static void send(Socket socket, ObjectNode body) throws Exception {
        send(socket, CHAT, body);
    }

    private static void send(Socket socket, String path, ObjectNode body) throws Exception {
        byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + api.port + "\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
    }

    private static String firstData(BufferedReader in) throws Exception {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.startsWith("data: ")) {
                return line.substring("data: ".length());
            }
        }
        fail("the stream ended before its first event");
        return null;
    }

    /** The cancelled counter rose by one and the batch emptied, within a few seconds; then nothing more is generated. */
    private static void assertCancelledAndFreed(double cancelledBefore) throws Exception {
        awaitMetric("moefleet_scheduler_cancelled_total", v -> v == cancelledBefore + 1, "the generation was cancelled");
        awaitMetric("moefleet_scheduler_running", v -> v == 0, "the cancelled sequence left the batch (its KV freed)");
        double generated = http.metric("moefleet_generation_tokens_total");
        Thread.sleep(200);
        assertEquals(generated, http.metric("moefleet_generation_tokens_total"), "no token is generated for nobody");
        assertEquals(0.0, http.metric("moefleet_scheduler_waiting"));
    }

    private static void awaitMetric(String series, DoublePredicate condition, String what) throws Exception {
        http.awaitMetric(series, condition, WAIT, what);
    }
}
