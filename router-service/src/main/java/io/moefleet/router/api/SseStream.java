package io.moefleet.router.api;

import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayDeque;

/**
 * A server-sent event stream on one response, written on the response's event loop. The response head goes out with
 * the first event, so an error before it (a request turned away after waiting) still gets its own status. When the
 * client reads slower than we generate, events wait here until the connection drains, never in an unbounded socket
 * buffer; the scheduler is never blocked.
 */
final class SseStream {

    private final HttpServerResponse response;
    private final ArrayDeque<String> held = new ArrayDeque<>();
    private boolean ending;

    SseStream(HttpServerResponse response) {
        this.response = response;
        response.drainHandler(v -> flush());
    }

    /** Sends {@code data: json}, with an {@code event:} line when {@code event} is not null. */
    void send(String event, String json) {
        held.add((event == null ? "" : "event: " + event + "\n") + "data: " + json + "\n\n");
        flush();
    }

    /** Sends what is held, then ends the response. */
    void end() {
        ending = true;
        flush();
    }

    private void flush() {
        if (response.closed() || response.ended()) {
            held.clear();
            return;
        }
        if (!response.headWritten()) {
            response.setChunked(true)
                    .putHeader("content-type", "text/event-stream")
                    .putHeader("cache-control", "no-cache");
        }
        while (!held.isEmpty() && !response.writeQueueFull()) {
            response.write(held.poll());
        }
        if (held.isEmpty() && ending) {
            response.end();
        }
    }
}
