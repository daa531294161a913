package io.moefleet.router.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.moefleet.attention.AttentionInstanceException;
import io.moefleet.expert.ExpertShardException;
import io.moefleet.router.scheduler.RejectedException;
import io.vertx.core.http.HttpServerResponse;
import java.time.Duration;
import java.util.Optional;

/** Turns failures into API errors and writes them in OpenAI's or Anthropic's shape. */
final class ApiErrors {

    private static final System.Logger LOG = System.getLogger(ApiErrors.class.getName());

    private ApiErrors() {}

    /**
     * The API error for a failure: bad input is 400, a rejection by the scheduler 429 (queue full) or 503 (draining, waited
     * too long), a failed fleet step 503 (a service of the fleet is down), anything else 500.
     */
    static ApiException of(Throwable failure) {
        return switch (failure) {
            case ApiException api -> api;
            case RejectedException rejected -> new ApiException(
                    rejected.reason() == RejectedException.Reason.QUEUE_FULL ? 429 : 503,
                    rejected.reason() == RejectedException.Reason.QUEUE_FULL ? "rate_limit_error" : "service_unavailable",
                    rejected.getMessage(), Optional.of(rejected.retryAfter()));
            case IllegalArgumentException bad -> ApiException.badRequest(bad.getMessage());
            case RuntimeException runtime when isFleetFailure(runtime) -> new ApiException(503, "service_unavailable",
                    "the fleet could not run the step: " + runtime.getMessage(), Optional.of(Duration.ofSeconds(5)));
            default -> {
                LOG.log(System.Logger.Level.ERROR, "a request failed", failure);
                yield new ApiException(500, "internal_error", "internal error: " + failure, Optional.empty());
            }
        };
    }

    /** A failure of a remote service of the fleet (an expert shard or attention instance down, a call timed out). */
    private static boolean isFleetFailure(RuntimeException failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof ExpertShardException || t instanceof AttentionInstanceException || t instanceof StatusRuntimeException
                    || t instanceof StatusException) {
                return true;
            }
        }
        return false;
    }

    static ObjectNode openAiBody(ApiException error) {
        ObjectNode body = Json.object();
        ObjectNode inner = body.putObject("error");
        inner.put("message", error.getMessage());
        inner.put("type", error.type());
        inner.putNull("param");
        inner.put("code", error.status());
        return body;
    }

    static ObjectNode anthropicBody(ApiException error) {
        ObjectNode body = Json.object();
        body.put("type", "error");
        ObjectNode inner = body.putObject("error");
        inner.put("type", error.anthropicType());
        inner.put("message", error.getMessage());
        return body;
    }

    static void send(HttpServerResponse response, ApiException error, boolean anthropic) {
        if (response.ended() || response.closed()) {
            return;
        }
        if (response.headWritten()) {
            // a stream already under way: the error goes as its last event
            ObjectNode body = anthropic ? anthropicBody(error) : openAiBody(error);
            response.end((anthropic ? "event: error\n" : "") + "data: " + Json.write(body) + "\n\n"
                    + (anthropic ? "" : "data: [DONE]\n\n"));
            return;
        }
        error.retryAfter().ifPresent(after -> response.putHeader("Retry-After", Long.toString(Math.max(1, after.toSeconds()))));
        response.setStatusCode(error.status())
                .putHeader("content-type", "application/json")
                .end(Json.write(anthropic ? anthropicBody(error) : openAiBody(error)));
    }
}
