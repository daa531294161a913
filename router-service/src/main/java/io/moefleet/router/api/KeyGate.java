package io.moefleet.router.api;

import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The API's front door: a request carries one of the keys ({@code Authorization: Bearer KEY} as OpenAI's clients
 * send it, or {@code x-api-key: KEY} as Anthropic's), else 401 in its API's error shape; then its key's limits apply,
 * requests a minute and requests under way, else 429 with {@code Retry-After}. {@code /health} is always open; the
 * operator's pages are open when the keys say so. On the event loop.
 */
final class KeyGate {

    private final ApiKeys keys;
    private final Map<String, KeyUse> uses = new ConcurrentHashMap<>();

    KeyGate(ApiKeys keys) {
        this.keys = keys;
    }

    /** Lets the request on, or answers it with 401/429. */
    void handle(RoutingContext ctx) {
        String path = ctx.request().path();
        boolean anthropic = path.startsWith("/v1/messages");
        if (!keys.required() || path.equals("/health") || keys.openMetrics() && operatorPage(path)) {
            ctx.next();
            return;
        }
        String key = key(ctx);
        ApiKeys.Limits limits = key != null ? keys.keys().get(key) : null;
        if (limits == null) {
            ApiErrors.send(ctx.response(), new ApiException(401, "authentication_error", key == null
                    ? "no API key: send it as 'Authorization: Bearer KEY' or 'x-api-key: KEY'" : "the API key is not valid",
                    Optional.empty()), anthropic);
            return;
        }
        KeyUse use = uses.computeIfAbsent(key, k -> new KeyUse());
        Optional<Duration> wait = use.admit(limits, System.nanoTime());
        if (wait.isPresent()) {
            ApiErrors.send(ctx.response(), new ApiException(429, "rate_limit_error", limits.concurrent() > 0
                    && use.running() >= limits.concurrent() ? "this API key has " + limits.concurrent() + " request(s) under way already"
                    : "this API key made " + limits.requestsPerMinute() + " request(s) in the last minute", wait), anthropic);
            return;
        }
        ctx.addEndHandler(ended -> use.done());
        ctx.next();
    }

    private static boolean operatorPage(String path) {
        return path.equals("/metrics") || path.startsWith("/dashboard") || path.startsWith("/v1/fleet/");
    }

    private static String key(RoutingContext ctx) {
        String authorization = ctx.request().getHeader("Authorization");
        if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return authorization.substring(7).strip();
        }
        return ctx.request().getHeader("x-api-key");
    }

    /** One key's requests: a sliding minute of start times and the count under way. */
    private static final class KeyUse {
        private final java.util.ArrayDeque<Long> starts = new java.util.ArrayDeque<>();
        private int running;

        /** Counts a request in, or says how long to wait before one fits. */
        synchronized Optional<Duration> admit(ApiKeys.Limits limits, long now) {
            long minute = Duration.ofMinutes(1).toNanos();
            while (!starts.isEmpty() && now - starts.peekFirst() >= minute) {
                starts.pollFirst();
            }
            if (limits.concurrent() > 0 && running >= limits.concurrent()) {
                return Optional.of(Duration.ofSeconds(1));
            }
            if (limits.requestsPerMinute() > 0 && starts.size() >= limits.requestsPerMinute()) {
                long seconds = Math.max(1, (minute - (now - starts.peekFirst()) + 999_999_999L) / 1_000_000_000L);
                return Optional.of(Duration.ofSeconds(seconds));
            }
            starts.addLast(now);
            running++;
            return Optional.empty();
        }

        synchronized int running() {
            return running;
        }

        synchronized void done() {
            running--;
        }
    }
}
