package io.moefleet.router;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;

/**
 * The router's span vocabulary: its tracer's scope and the attributes of the request's scheduler spans, the step and
 * per-layer spans.
 */
public final class RouterSpans {

    static final String SCOPE = "io.moefleet.router";

    static final AttributeKey<Long> STEP_SEQUENCES = AttributeKey.longKey("moefleet.step.sequences");
    static final AttributeKey<Long> STEP_TOKENS = AttributeKey.longKey("moefleet.step.tokens");
    static final AttributeKey<Long> STEP_PREFILL_TOKENS = AttributeKey.longKey("moefleet.step.prefill_tokens");
    static final AttributeKey<Long> STEP_DECODE_TOKENS = AttributeKey.longKey("moefleet.step.decode_tokens");

    /** A request's prompt tokens, and those its admission found cached (KV-aware placement, the pool). */
    public static final AttributeKey<Long> PROMPT_TOKENS = AttributeKey.longKey("moefleet.prompt.tokens");
    public static final AttributeKey<Long> CACHED_TOKENS = AttributeKey.longKey("moefleet.prompt.cached_tokens");

    static final AttributeKey<Long> LAYER = AttributeKey.longKey("moefleet.layer");
    static final AttributeKey<Long> TOKENS = AttributeKey.longKey("moefleet.tokens");
    static final AttributeKey<Long> SEQUENCES = AttributeKey.longKey("moefleet.sequences");
    /** (token, expert) pairs of a layer's routing: the work its dispatch carries. */
    static final AttributeKey<Long> EXPERT_ASSIGNMENTS = AttributeKey.longKey("moefleet.expert_assignments");
    static final AttributeKey<Long> BYTES_SENT = AttributeKey.longKey("moefleet.bytes_sent");
    static final AttributeKey<Long> BYTES_RECEIVED = AttributeKey.longKey("moefleet.bytes_received");

    private RouterSpans() {}

    public static Tracer tracer(OpenTelemetry openTelemetry) {
        return openTelemetry.getTracer(SCOPE);
    }

    /** Marks {@code span} as failed by {@code failure}; returns the failure, for {@code throw RouterSpans.failed(...)}. */
    public static RuntimeException failed(Span span, RuntimeException failure) {
        span.recordException(failure);
        span.setStatus(StatusCode.ERROR, failure.getMessage());
        return failure;
    }
}
