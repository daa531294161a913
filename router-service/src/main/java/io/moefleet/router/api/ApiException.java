package io.moefleet.router.api;

import java.time.Duration;
import java.util.Optional;

/**
 * A request the API answers with an error: the HTTP status, OpenAI's error type (Anthropic's is derived from the
 * status), the message naming what is wrong, and for 429/503 when to retry.
 */
public final class ApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final Optional<Duration> retryAfter;

    public ApiException(int status, String type, String message, Optional<Duration> retryAfter) {
        super(message);
        this.status = status;
        this.type = type;
        this.retryAfter = retryAfter;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(400, "invalid_request_error", message, Optional.empty());
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, "not_found_error", message, Optional.empty());
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public Optional<Duration> retryAfter() {
        return retryAfter;
    }

    /** Anthropic's error type for this status. */
    public String anthropicType() {
        return switch (status) {
            case 400, 422 -> "invalid_request_error";
            case 401 -> "authentication_error";
            case 404 -> "not_found_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            case 503, 529 -> "overloaded_error";
            default -> "api_error";
        };
    }
}
