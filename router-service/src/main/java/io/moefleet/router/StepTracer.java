package io.moefleet.router;

import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.util.List;

/**
 * Runs steps inside a "step" span, so that a step's per-layer spans ({@link TracedAttention}, {@link TracedExperts})
 * and the gRPC calls under them form one tree. Whoever drives steps calls {@code steps.step(transformer, chunks)} where
 * it would call {@code transformer.step(chunks)}, on the same thread. The span's parent is the calling thread's current
 * span, if any: a scheduler thread has none, so each of its steps is a trace of its own. With sampling off the span is
 * a no-op and costs a few allocations. Thread-safe (it holds no state); the transformer is not.
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
        Span span = tracer.spanBuilder("step")
                .setAttribute(RouterSpans.STEP_SEQUENCES, (long) chunks.size())
                .setAttribute(RouterSpans.STEP_TOKENS, tokens)
                .setAttribute(RouterSpans.STEP_PREFILL_TOKENS, tokens - decode)
                .setAttribute(RouterSpans.STEP_DECODE_TOKENS, decode)
                .startSpan();
        try (Scope ignored = span.makeCurrent()) {
            return transformer.step(chunks);
        } catch (RuntimeException e) {
            throw RouterSpans.failed(span, e);
        } finally {
            span.end();
        }
    }
}
