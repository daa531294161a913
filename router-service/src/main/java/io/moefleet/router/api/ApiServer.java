package io.moefleet.router.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.Optional;

/**
 * The HTTP front door on Vert.x: OpenAI's chat and text completions and model list, Anthropic's messages, vLLM's
 * tokenize and detokenize, health and Prometheus metrics. Handlers only parse and answer on the event loop; template
 * rendering and encoding run on workers, model steps on the scheduler's thread.
 */
public final class ApiServer {

    private static final System.Logger LOG = System.getLogger(ApiServer.class.getName());

    /** Default body limit: room for a full-context prompt as token ids (about 7 bytes per id) and then some. */
    public static final long MIN_BODY_LIMIT = 8L << 20;

    private final Vertx vertx;
    private final ServedModel served;
    private final PrometheusRegistry registry;
    private final FleetView fleet;
    private final KeyGate gate;
    private final OpenTelemetry openTelemetry;
    private final Tracer tracer;
    private final long bodyLimit;
    private final Counter requests;
    private HttpServer server;

    /**
     * @param fleet the services behind the scheduler: their health and state
     */
    public ApiServer(ServedModel served, PrometheusRegistry registry, FleetView fleet) {
        this(served, registry, fleet, OpenTelemetry.noop());
    }

    /**
     * @param fleet the services behind the scheduler: their health and state
     * @param openTelemetry where each request's span goes ({@link RequestTrace}), the root of its trace
     */
    public ApiServer(ServedModel served, PrometheusRegistry registry, FleetView fleet, OpenTelemetry openTelemetry) {
        this(served, registry, fleet, openTelemetry, ApiKeys.OPEN);
    }

    /**
     * @param fleet the services behind the scheduler: their health and state
     * @param openTelemetry where each request's span goes ({@link RequestTrace}), the root of its trace
     * @param keys who may call it ({@link KeyGate}); {@link ApiKeys#OPEN} for anyone
     */
    public ApiServer(ServedModel served, PrometheusRegistry registry, FleetView fleet, OpenTelemetry openTelemetry, ApiKeys keys) {
        this.gate = new KeyGate(keys);
        this.openTelemetry = openTelemetry;
        this.tracer = openTelemetry.getTracer("io.moefleet.router.api");
        this.vertx = Vertx.vertx();
        this.served = served;
        this.registry = registry;
        this.fleet = fleet;
        this.bodyLimit = Math.max(MIN_BODY_LIMIT, 16L * served.contextLength());
        this.requests = Counter.builder().name("moefleet_http_requests")
                .help("HTTP requests answered, by route and status").labelNames("route", "status").register(registry);
    }

    /** Starts listening; completes with the bound port (useful with port 0). */
    public Future<Integer> start(String host, int port) {
        Router router = Router.router(vertx);
        router.route().handler(this::countRequest);
        router.route().handler(gate::handle);
        // the fleet page and its files: registered before the request spans, so that viewing it makes no traces
        new DashboardHandler(served.name()).register(router);
        // a span for each POST (a generation, tokenize): probes and scrapes of /health and /metrics make no traces
        router.post().handler(ctx -> {
            RequestTrace.start(ctx, openTelemetry, tracer);
            ctx.next();
        });
        router.route().handler(BodyHandler.create(false).setBodyLimit(bodyLimit));
        ChatCompletionsHandler chat = new ChatCompletionsHandler(vertx, served);
        CompletionsHandler completions = new CompletionsHandler(vertx, served);
        TokenizeHandler tokenize = new TokenizeHandler(vertx, served);
        MessagesHandler messages = new MessagesHandler(vertx, served);
        router.post("/v1/chat/completions").handler(openAi(chat::handle));
        router.post("/v1/completions").handler(openAi(completions::handle));
        router.post("/v1/messages").handler(ctx -> guarded(ctx, true, () -> messages.handle(ctx)));
        router.post("/tokenize").handler(openAi(tokenize::tokenize));
        router.post("/detokenize").handler(openAi(tokenize::detokenize));
        router.get("/v1/models").handler(this::models);
        router.get("/health").handler(this::health);
        router.get("/metrics").handler(this::metrics);
        router.get("/v1/fleet/state").handler(this::fleetState);
        router.route().last().handler(ctx -> ApiErrors.send(ctx.response(),
                ApiException.notFound("no route " + ctx.request().method() + " " + ctx.request().path()), false));
        router.route().failureHandler(this::failure);
        return vertx.createHttpServer().requestHandler(router).listen(port, host).map(bound -> {
            server = bound;
            return bound.actualPort();
        });
    }

    /**
     * Stops listening, gives open connections {@code grace} to finish, and closes Vert.x (the scheduler is stopped by
     * its owner).
     */
    public void stop(Duration grace) {
        try {
            if (server != null) {
                server.shutdown(grace).await(grace.toMillis() + 5_000, TimeUnit.MILLISECONDS);
            }
            vertx.close().await(10, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            LOG.log(System.Logger.Level.WARNING, "the HTTP server did not stop in time: " + e.getMessage());
        }
    }

    /** Runs a handler step, answering any failure it throws with the API's error body. */
    static void guarded(RoutingContext ctx, boolean anthropic, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            ApiErrors.send(ctx.response(), ApiErrors.of(e), anthropic);
        }
    }

    private static Handler<RoutingContext> openAi(Handler<RoutingContext> handler) {
        return ctx -> guarded(ctx, false, () -> handler.handle(ctx));
    }

    private void countRequest(RoutingContext ctx) {
        // the matched route's path, not the request's: unknown paths must not grow the label set
        ctx.addEndHandler(v -> {
            String route = ctx.currentRoute() == null || ctx.currentRoute().getPath() == null ? "other" : ctx.currentRoute().getPath();
            requests.labelValues(route, Integer.toString(ctx.response().getStatusCode())).inc();
        });
        ctx.next();
    }

    /** Failures Vert.x raises itself: a body over the limit (413), and anything a handler let through. */
    private void failure(RoutingContext ctx) {
        boolean anthropic = ctx.request().path().startsWith("/v1/messages");
        ApiException error = ctx.statusCode() == 413
                ? new ApiException(413, "invalid_request_error", "the request body exceeds the limit of " + bodyLimit + " bytes",
                        Optional.empty())
                : ctx.failure() != null ? ApiErrors.of(ctx.failure())
                : new ApiException(ctx.statusCode(), "invalid_request_error", "request failed with status " + ctx.statusCode(),
                        Optional.empty());
        ApiErrors.send(ctx.response(), error, anthropic);
    }

    private void models(RoutingContext ctx) {
        ObjectNode body = Json.object();
        body.put("object", "list");
        ArrayNode data = body.putArray("data");
        ObjectNode model = data.addObject();
        model.put("id", served.name());
        model.put("object", "model");
        model.put("created", served.created().getEpochSecond());
        model.put("owned_by", "moefleet");
        model.put("max_model_len", served.contextLength());
        ctx.response().putHeader("content-type", "application/json").end(Json.write(body));
    }

    /** 200 while serving; 503 while draining or when a service of the fleet is down (checked on a worker). */
    private void health(RoutingContext ctx) {
        boolean draining = served.scheduler().isDraining();
        vertx.executeBlocking(() -> !draining && fleet.healthy(), false).onComplete(result -> {
            boolean healthy = result.succeeded() && result.result();
            ctx.response().setStatusCode(healthy ? 200 : 503).putHeader("content-type", "application/json")
                    .end(Json.write(Json.object().put("status", healthy ? "serving" : draining ? "draining" : "fleet down")));
        });
    }

    /** The fleet's state for its controller: placement, shards and what they hold, expert load (read on a worker). */
    private void fleetState(RoutingContext ctx) {
        vertx.executeBlocking(fleet::stateJson, false).onComplete(result -> {
            if (result.succeeded()) {
                ctx.response().putHeader("content-type", "application/json").end(result.result());
            } else {
                ApiErrors.send(ctx.response(), new ApiException(503, "service_unavailable", "fleet state unavailable: "
                        + result.cause().getMessage(), Optional.empty()), false);
            }
        });
    }

    private void metrics(RoutingContext ctx) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        ctx.response().putHeader("content-type", PrometheusTextFormatWriter.CONTENT_TYPE).end(Buffer.buffer(out.toByteArray()));
    }
}
