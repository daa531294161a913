package io.moefleet.router.api;

import io.moefleet.router.scheduler.Scheduler;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayList;
import java.util.List;

/**
 * The generations one HTTP response waits for, and the request's trace: all are cancelled when its client goes away, or
 * when one fails. Used on the response's event loop only.
 */
final class ClientGenerations {

    private final HttpServerResponse http;
    private final RequestTrace trace;
    private final List<Scheduler.Handle> handles = new ArrayList<>();

    ClientGenerations(HttpServerResponse http, RequestTrace trace) {
        this.http = http;
        this.trace = trace;
        http.closeHandler(v -> cancelAll());
    }

    /** The request's trace: its generations run under it, and its span gets the answer's usage. */
    RequestTrace trace() {
        return trace;
    }

    /** Tracks a generation; a client already gone (closed while the request was prepared) cancels it at once. */
    void track(Scheduler.Handle handle) {
        handles.add(handle);
        if (http.closed()) {
            handle.cancel();                    // the close handler, set after the connection closed, never fires
        }
    }

    void cancelAll() {
        handles.forEach(Scheduler.Handle::cancel);
    }
}
