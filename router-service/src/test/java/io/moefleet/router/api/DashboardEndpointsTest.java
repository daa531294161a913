package io.moefleet.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fleet page's files and its settings endpoint, served by the router (here over the engine alone). */
class DashboardEndpointsTest {

    @TempDir
    static Path checkpoint;
    private static ApiFixture api;
    private static RawHttp http;

    @BeforeAll
    static void start() throws Exception {
        api = ApiFixture.start(checkpoint);
        http = new RawHttp(api.baseUrl());
    }

    @AfterAll
    static void stop() throws Exception {
        api.close();
    }

    @Test
    void thePageAndItsAssetsAreServedWithTheirContentTypes() {
        for (String path : new String[] {"/dashboard", "/dashboard/"}) {
            HttpResponse<String> page = http.get(path);
            assertEquals(200, page.statusCode(), path);
            assertEquals("text/html; charset=utf-8", contentType(page), path);
            assertTrue(page.body().contains("<script src=\"/dashboard/dashboard.js\">"), page.body());
            assertTrue(page.body().contains("href=\"/dashboard/dashboard.css\""), page.body());
        }
        HttpResponse<String> script = http.get("/dashboard/dashboard.js");
        assertEquals(200, script.statusCode());
        assertEquals("text/javascript; charset=utf-8", contentType(script));
        assertTrue(script.body().contains("/v1/fleet/state") && script.body().contains("/metrics"));
        HttpResponse<String> style = http.get("/dashboard/dashboard.css");
        assertEquals(200, style.statusCode());
        assertEquals("text/css; charset=utf-8", contentType(style));
    }

    @Test
    void anUnknownAssetIsTheApisNotFound() {
        HttpResponse<String> missing = http.get("/dashboard/secrets.txt");
        assertEquals(404, missing.statusCode());
        assertTrue(contentType(missing).startsWith("application/json"), contentType(missing));
        assertEquals(404, http.get("/dashboard/../pom.xml").statusCode());
    }

    @Test
    void theSettingsNameTheModelAndTheZipkinServerWhenOneIsSet() {
        String previous = System.getProperty(DashboardHandler.ZIPKIN_PROPERTY);
        try {
            System.clearProperty(DashboardHandler.ZIPKIN_PROPERTY);
            HttpResponse<String> none = http.get("/v1/fleet/dashboard");
            assertEquals(200, none.statusCode());
            assertTrue(contentType(none).startsWith("application/json"), contentType(none));
            JsonNode settings = RawHttp.json(none.body());
            assertEquals(ApiFixture.MODEL, settings.path("model").asText());
            assertTrue(settings.has("zipkin") && settings.get("zipkin").isNull(), none.body());

            System.setProperty(DashboardHandler.ZIPKIN_PROPERTY, "http://127.0.0.1:9411/");
            JsonNode zipkin = RawHttp.json(http.get("/v1/fleet/dashboard").body());
            assertEquals("http://127.0.0.1:9411", zipkin.path("zipkin").asText());
        } finally {
            if (previous == null) {
                System.clearProperty(DashboardHandler.ZIPKIN_PROPERTY);
            } else {
                System.setProperty(DashboardHandler.ZIPKIN_PROPERTY, previous);
            }
        }
    }

    @Test
    void theEngineAloneSaysItIsSingleProcess() {
        JsonNode state = RawHttp.json(http.get("/v1/fleet/state").body());
        assertEquals("single-process", state.path("mode").asText());
    }

    private static String contentType(HttpResponse<String> response) {
        return response.headers().firstValue("content-type").orElse("");
    }
}
