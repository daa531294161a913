package io.moefleet.router.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The live fleet page: {@code GET /dashboard} (HTML) and its script and style under {@code /dashboard/...}, plain files
 * packed in the jar ({@code io/moefleet/router/dashboard/}), and {@code GET /v1/fleet/dashboard}, what the page cannot
 * read elsewhere: the served model's name and the Zipkin server the traces go to (the system property
 * {@value #ZIPKIN_PROPERTY}, set by the launcher when it runs one; {@code null} otherwise). The page itself polls
 * {@code /v1/fleet/state}, {@code /health} and {@code /metrics} and computes its charts in the browser.
 */
final class DashboardHandler {

    /** The Zipkin server's base URL (e.g. {@code http://127.0.0.1:9411}), when the fleet's traces go to one. */
    static final String ZIPKIN_PROPERTY = "moefleet.zipkin.url";

    private static final String RESOURCES = "/io/moefleet/router/dashboard/";
    private static final Map<String, String> ASSETS = Map.of(
            "index.html", "text/html; charset=utf-8",
            "dashboard.js", "text/javascript; charset=utf-8",
            "dashboard.css", "text/css; charset=utf-8");

    private final String model;
    private final Map<String, Buffer> files;

    DashboardHandler(String model) {
        this.model = model;
        this.files = Map.of(
                "index.html", load("index.html"),
                "dashboard.js", load("dashboard.js"),
                "dashboard.css", load("dashboard.css"));
    }

    /** Adds the page's routes to {@code router}. */
    void register(Router router) {
        router.get("/dashboard").handler(ctx -> send(ctx, "index.html"));
        router.get("/dashboard/").handler(ctx -> send(ctx, "index.html"));
        router.get("/dashboard/:asset").handler(ctx -> {
            String asset = ctx.pathParam("asset");
            if (files.containsKey(asset)) {
                send(ctx, asset);
            } else {
                ctx.next();   // the API's 404
            }
        });
        router.get("/v1/fleet/dashboard").handler(this::settings);
    }

    private void send(RoutingContext ctx, String asset) {
        ctx.response().putHeader("content-type", ASSETS.get(asset)).putHeader("cache-control", "no-cache").end(files.get(asset));
    }

    private void settings(RoutingContext ctx) {
        ObjectNode body = Json.object();
        body.put("model", model);
        String zipkin = System.getProperty(ZIPKIN_PROPERTY);
        if (zipkin == null || zipkin.isBlank()) {
            body.putNull("zipkin");
        } else {
            body.put("zipkin", zipkin.strip().replaceAll("/+$", ""));
        }
        ctx.response().putHeader("content-type", "application/json").putHeader("cache-control", "no-cache").end(Json.write(body));
    }

    private static Buffer load(String name) {
        try (InputStream in = DashboardHandler.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new IllegalStateException("the dashboard's " + name + " is missing from the jar (" + RESOURCES + name + ")");
            }
            return Buffer.buffer(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
