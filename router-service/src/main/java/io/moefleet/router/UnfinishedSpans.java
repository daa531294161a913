package io.moefleet.router;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.ContextKey;
import java.util.ArrayList;
import java.util.List;

/**
 * The per-layer spans of one step still open: an expert call's span stays open from its dispatch to its combine, and a
 * step that fails in between (the shared experts, the next attention call) never runs the combine, so the step ends
 * them, failed, instead of leaving them open. Carried in the context the step runs in; one step, one thread.
 */
final class UnfinishedSpans {

    private static final ContextKey<UnfinishedSpans> KEY = ContextKey.named("moefleet-unfinished-spans");

    private final List<Span> open = new ArrayList<>();

    /** Those of the step running on this thread, or null outside a traced step. */
    static UnfinishedSpans current() {
        return Context.current().get(KEY);
    }

    Context storeIn(Context context) {
        return context.with(KEY, this);
    }

    void opened(Span span) {
        open.add(span);
    }

    void closed(Span span) {
        open.remove(span);
    }

    /** Ends every span still open as failed by {@code failure}: the step it belongs to failed. */
    void failAll(RuntimeException failure) {
        for (Span span : open) {
            RouterSpans.failed(span, failure);
            span.end();
        }
        open.clear();
    }
}
