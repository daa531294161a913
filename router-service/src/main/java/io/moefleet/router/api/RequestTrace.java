package io.moefleet.router.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;

/**
 * The span of one HTTP request, the root of the request's trace: server kind, continuing the client's W3C
 * {@code traceparent} when it sends one, ended when the response is. Its queueing, admission and the steps it leads
 * hang under it (the scheduler's spans); the steps it shares with other requests are linked to it. GenAI semantic
 * conventions: the request's operation, model, max tokens and temperature, and, once answered, the response id, token
 * usage and finish reasons.
 */
final class RequestTrace {

    static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
    static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
    static final AttributeKey<Long> MAX_TOKENS = AttributeKey.longKey("gen_ai.request.max_tokens");
    static final AttributeKey<Double> TEMPERATURE = AttributeKey.doubleKey("gen_ai.request.temperature");
    static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
    static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
    static final AttributeKey<List<String>> FINISH_REASONS = AttributeKey.stringArrayKey("gen_ai.response.finish_reasons");
    static final AttributeKey<String> RESPONSE_ID = AttributeKey.stringKey("gen_ai.response.id");

    private static final String KEY = RequestTrace.class.getName();
    private static final RequestTrace NONE = new RequestTrace(Context.root(), Span.getInvalid());
    private static final TextMapGetter<HttpServerRequest> HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(HttpServerRequest request) {
            return request.headers().names();
        }

        @Override
        public String get(HttpServerRequest request, String key) {
            return request == null ? null : request.getHeader(key);
        }
    };

    private final Context context;
    private final Span span;
    private final List<String> finishReasons = new ArrayList<>();

    private RequestTrace(Context context, Span span) {
        this.context = context;
        this.span = span;
    }

    /** Starts the request's span (on the event loop, first of the request's handlers) and ends it with the response. */
    static void start(RoutingContext ctx, OpenTelemetry openTelemetry, Tracer tracer) {
        HttpServerRequest request = ctx.request();
        Context parent = openTelemetry.getPropagators().getTextMapPropagator().extract(Context.root(), request, HEADERS);
        Span span = tracer.spanBuilder(request.method().name() + " " + request.path())
                .setParent(parent)
                .setSpanKind(SpanKind.SERVER)
                .setAttribute("http.request.method", request.method().name())
                .setAttribute("url.path", request.path())
                .setAttribute("http.route", request.path())
                .startSpan();
        RequestTrace trace = new RequestTrace(parent.with(span), span);
        ctx.put(KEY, trace);
        ctx.addEndHandler(ended -> {
            int status = ctx.response().getStatusCode();
            span.setAttribute("http.response.status_code", (long) status);
            if (status >= 500 || ended.failed()) {
                span.setStatus(StatusCode.ERROR, ended.failed() ? String.valueOf(ended.cause()) : "HTTP " + status);
            }
            span.end();
        });
    }

    /** The trace of the request {@code ctx} serves (one that records nothing when none was started). */
    static RequestTrace of(RoutingContext ctx) {
        RequestTrace trace = ctx.get(KEY);
        return trace != null ? trace : NONE;
    }

    /** The request's context: its span current, for the work done on its behalf. */
    Context context() {
        return context;
    }

    /** What the client asked for: the operation ("chat", "text_completion") and the body's model, max tokens, temperature. */
    void request(String operation, JsonNode body) {
        span.setAttribute(OPERATION, operation);
        if (body.path("model").isTextual()) {
            span.setAttribute(REQUEST_MODEL, body.path("model").asText());
        }
        JsonNode maxTokens = body.has("max_completion_tokens") ? body.get("max_completion_tokens") : body.path("max_tokens");
        if (maxTokens.isIntegralNumber()) {
            span.setAttribute(MAX_TOKENS, maxTokens.asLong());
        }
        if (body.path("temperature").isNumber()) {
            span.setAttribute(TEMPERATURE, body.path("temperature").asDouble());
        }
    }

    /** One choice ended, for {@code reason} (the API's name for it). */
    void finished(String reason) {
        finishReasons.add(reason);
    }

    /** The response is complete: its id and token usage, with every choice's finish reason. */
    void answered(String id, int inputTokens, int outputTokens) {
        span.setAttribute(RESPONSE_ID, id);
        span.setAttribute(INPUT_TOKENS, (long) inputTokens);
        span.setAttribute(OUTPUT_TOKENS, (long) outputTokens);
        span.setAttribute(FINISH_REASONS, List.copyOf(finishReasons));
    }
}
