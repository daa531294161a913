package io.moefleet.router;

import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.opentelemetry.api.OpenTelemetry;
import io.moefleet.router.scheduler.StepLinks;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.util.List;

/**
 * Runs steps inside a "step" span, so that a step's per-layer spans ({@link TracedAttention}, {@link TracedExperts})
 * and the gRPC calls under them form one tree. Whoever drives steps calls {@code steps.step(transformer, chunks)} where
 * it would call {@code transformer.step(chunks)}, on the same thread. The span's parent is the calling thread's current
 * span, if any: the scheduler makes the step's lead request current and passes the others as {@link StepLinks}, which
 * the span links to. With sampling off the span is a no-op and costs a few allocations. Thread-safe (it holds no
 * state); the transformer is not.
 */
public final class StepTracer {

    private final Tracer tracer;

    public StepTracer(OpenTelemetry openTelemetry) {
        this.tracer = RouterSpans.tracer(openTelemetry);
    }

    /** {@code transformer.step(chunks)} inside a "step" span: sequences, tokens, and prefill and decode tokens. */
    public List<float[][]> step(Transformer transformer, List<StepChunk> chunks) {
        long tokens = 0;
        long decode = 0;
        for (StepChunk chunk : chunks) {
            tokens += chunk.tokens().length;
            if (chunk.tokens().length == 1 && chunk.start() > 0) {
                decode++;   // one token over a cached prefix: a decode token (a one-token prefill tail does the same work)
            }
        }
        SpanBuilder builder = tracer.spanBuilder("step")
                .setAttribute(RouterSpans.STEP_SEQUENCES, (long) chunks.size())
                .setAttribute(RouterSpans.STEP_TOKENS, tokens)
                .setAttribute(RouterSpans.STEP_PREFILL_TOKENS, tokens - decode)
                .setAttribute(RouterSpans.STEP_DECODE_TOKENS, decode);
        StepLinks links = StepLinks.current();
        if (links != null) {
            links.requests().forEach(builder::addLink);
        }
        Span span = builder.startSpan();
        if (links != null) {
            links.stepStarted(span.getSpanContext());
        }
        UnfinishedSpans layers = new UnfinishedSpans();
        try (Scope ignored = layers.storeIn(Context.current().with(span)).makeCurrent()) {
            return transformer.step(chunks);
        } catch (RuntimeException e) {
            layers.failAll(e);
            throw RouterSpans.failed(span, e);
        } finally {
            span.end();
        }
    }
}
