package io.moefleet.router;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Scope;
import java.util.function.Supplier;

/**
 * The span of a layer call that is sent now and answered later (an attention call, an experts dispatch): current while
 * the call goes out and while its answer is taken, open in between, and ended by the step ({@link UnfinishedSpans}) if
 * the step fails before the answer is taken.
 */
final class CallSpan {

    private final Span span;
    private final UnfinishedSpans unfinished = UnfinishedSpans.current();

    CallSpan(Span span) {
        this.span = span;
    }

    /** Sends the call with the span current; a failure to send ends the span, failed. */
    <T> T send(Supplier<T> send) {
        T sent;
        try (Scope ignored = span.makeCurrent()) {
            sent = send.get();
        } catch (RuntimeException e) {
            RouterSpans.failed(span, e);
            span.end();
            throw e;
        }
        if (unfinished != null) {
            unfinished.opened(span);
        }
        return sent;
    }

    /** Takes the answer with the span current, then ends the span (failed, if taking the answer throws). */
    void finish(Runnable take) {
        try (Scope ignored = span.makeCurrent()) {
            take.run();
        } catch (RuntimeException e) {
            throw RouterSpans.failed(span, e);
        } finally {
            if (unfinished != null) {
                unfinished.closed(span);
            }
            span.end();
        }
    }
}
