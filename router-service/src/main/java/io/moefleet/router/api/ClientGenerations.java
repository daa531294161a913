package io.moefleet.router.api;

import io.moefleet.router.scheduler.Scheduler;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayList;
import java.util.List;

/**
 * The generations one HTTP response waits for: all are cancelled when its client goes away, or when one fails. Used on
 * the response's event loop only.
 */
final class ClientGenerations {

    private final HttpServerResponse http;
    private final List<Scheduler.Handle> handles = new ArrayList<>();

    ClientGenerations(HttpServerResponse http) {
        this.http = http;
        http.closeHandler(v -> cancelAll());
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
