package io.moefleet.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.moefleet.model.GoldenData;
import io.moefleet.router.api.FleetView;
import io.moefleet.router.scheduler.SchedulerLimits;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The fleet page in headless Chromium (Debian's {@code chromium} and {@code chromium-driver}) over a real fleet in this
 * JVM: 2 expert shards, 1 attention instance, the router and its API. The page lists every service, and its expert-load
 * heatmap changes once completions have gone through; a screenshot goes to {@code target/dashboard.png}.
 */
@Timeout(180)
class DashboardBrowserTest {

    private static final Path MODEL = GoldenData.checkpoint("tiny-k2");
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final String INSTALL = "install Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver;"
            + " ./fleet test does so when run as root)";

    @TempDir
    Path profile;

    @Test
    void thePageListsEveryServiceAndItsHeatmapFollowsTheTraffic() throws Exception {
        HttpServer zipkin = fakeZipkin();
        String zipkinUrl = "http://127.0.0.1:" + zipkin.getAddress().getPort();
        System.setProperty(ZIPKIN_PROPERTY, zipkinUrl);
        try (InProcessFleet fleet = InProcessFleet.start(MODEL, 2, 1, io.opentelemetry.api.OpenTelemetry.noop(),
                     io.opentelemetry.api.OpenTelemetry.noop());
             RouterService api = serve(fleet)) {
            String base = "http://127.0.0.1:" + api.port();
            WebDriver browser = chromium();
            try {
                browser.manage().window().setSize(new Dimension(1400, 1500));
                browser.get(base + "/dashboard");
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30), Duration.ofMillis(100));

                // every service: the router, both shards, the attention instance, by address
                wait.until(b -> rows(b, "shard").size() == 2 && rows(b, "attention").size() == 1 && rows(b, "router").size() == 1);
                List<String> shardAddresses = rows(browser, "shard").stream().map(r -> r.getDomAttribute("data-address")).toList();
                assertEquals(fleet.endpoints.expertAddresses(), shardAddresses);
                assertEquals(fleet.endpoints.attentionAddresses().getFirst(), rows(browser, "attention").getFirst().getDomAttribute("data-address"));
                for (WebElement shard : rows(browser, "shard")) {
                    assertEquals("true", shard.getDomAttribute("data-serving"), shard.getText());
                    assertTrue(shard.getText().contains("serving") && shard.getText().contains("experts "), shard.getText());
                }
                assertTrue(rows(browser, "router").getFirst().getText().contains("serving"), rows(browser, "router").getFirst().getText());
                assertTrue(rows(browser, "attention").getFirst().getText().contains("takes new ones"),
                        rows(browser, "attention").getFirst().getText());

                // the heatmap: a cell per expert per MoE layer, all cold before any traffic (two polls make an interval)
                var config = fleet.router.transformer().config();
                long moeLayers = java.util.stream.IntStream.range(0, config.numHiddenLayers()).filter(config::isMoeLayer).count();
                wait.until(b -> polls(b) >= 3);
                List<WebElement> cells = browser.findElements(By.cssSelector("#heatmap rect.cell"));
                assertEquals(moeLayers * config.nRoutedExperts(), cells.size(), "a cell per (MoE layer, expert)");
                assertEquals(0, sum(browser, "data-total"), "no token routed before the first request");

                // traffic through the API: the interval's cells warm up, and the totals match the router's own count
                List<CompletableFuture<HttpResponse<String>>> requests = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    requests.add(complete(base, i));
                }
                wait.until(b -> sum(b, "data-tokens") > 0);
                for (CompletableFuture<HttpResponse<String>> request : requests) {
                    assertEquals(200, request.get().statusCode(), request.get().body());
                }
                wait.until(b -> sum(b, "data-total") == routedTokens(fleet));
                long routed = routedTokens(fleet);
                assertTrue(routed > 0 && routed % config.numExpertsPerTok() == 0, "routed " + routed);

                // the charts have points once a scrape saw the requests' first tokens
                wait.until(b -> !b.findElements(By.cssSelector("#chart-ttft path")).isEmpty()
                        && !b.findElements(By.cssSelector("#chart-tps path")).isEmpty());

                // the latest traces, as Zipkin's API lists them, link to Zipkin's trace pages
                wait.until(b -> b.findElements(By.cssSelector("#traces li a")).size() == 2);
                assertEquals(zipkinUrl + "/zipkin/traces/" + TRACE,
                        browser.findElements(By.cssSelector("#traces li a")).getFirst().getDomAttribute("href"));
                assertEquals(zipkinUrl + "/zipkin/?serviceName=moefleet-router",
                        browser.findElement(By.cssSelector("#traces-link a")).getDomAttribute("href"));

                // a screenshot with traffic under way
                List<CompletableFuture<HttpResponse<String>>> more = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    more.add(complete(base, 10 + i));
                }
                wait.until(b -> sum(b, "data-tokens") > 0);
                Thread.sleep(300);
                Path shot = Path.of("target", "dashboard.png");
                Files.createDirectories(shot.getParent());
                Files.copy(((ChromeDriver) browser).getScreenshotAs(OutputType.FILE).toPath(), shot, StandardCopyOption.REPLACE_EXISTING);
                for (CompletableFuture<HttpResponse<String>> request : more) {
                    assertEquals(200, request.get().statusCode());
                }
                List<String> errors = ((ChromeDriver) browser).manage().logs().getAvailableLogTypes().contains("browser")
                        ? ((ChromeDriver) browser).manage().logs().get("browser").getAll().stream()
                                .filter(entry -> entry.getLevel().intValue() >= java.util.logging.Level.SEVERE.intValue())
                                .map(Object::toString).toList()
                        : List.of();
                assertEquals(List.of(), errors, "the page logged errors");
            } finally {
                browser.quit();
            }
        } finally {
            System.clearProperty(ZIPKIN_PROPERTY);
            zipkin.stop(0);
        }
    }

    private static final String ZIPKIN_PROPERTY = "moefleet.zipkin.url";
    private static final String TRACE = "0af7651916cd43dd8448eb211c80319c";

    /**
     * Zipkin's trace search ({@code GET /api/v2/traces}) answering two traces of the router, with the CORS header Zipkin
     * sends by default, so that the page (another origin) may read it.
     */
    private static HttpServer fakeZipkin() throws java.io.IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        long now = System.currentTimeMillis() * 1000;
        String traces = """
                [[{"traceId": "%s", "id": "b7ad6b7169203331", "name": "post /v1/chat/completions", "timestamp": %d, "duration": 412000,
                   "localEndpoint": {"serviceName": "moefleet-router"}},
                  {"traceId": "%s", "parentId": "b7ad6b7169203331", "id": "00f067aa0ba902b7", "name": "step", "timestamp": %d, "duration": 20000}],
                 [{"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "id": "00f067aa0ba902b8", "name": "post /v1/completions",
                   "timestamp": %d, "duration": 95000}]]""".formatted(TRACE, now, TRACE, now + 1000, now - 5_000_000);
        server.createContext("/api/v2/traces", exchange -> {
            byte[] body = traces.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("content-type", "application/json");
            exchange.getResponseHeaders().add("access-control-allow-origin", "*");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        return server;
    }

    /** Headless Chromium through Debian's chromedriver; no download of any browser or driver is ever tried. */
    private WebDriver chromium() {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            fail("the dashboard's browser test needs " + CHROMIUM + " and " + CHROMEDRIVER + ": " + INSTALL);
        }
        System.setProperty("SE_OFFLINE", "true");   // passed on to Selenium Manager, were it ever asked
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + profile.toAbsolutePath());
        var logging = new org.openqa.selenium.logging.LoggingPreferences();
        logging.enable("browser", java.util.logging.Level.SEVERE);
        options.setCapability("goog:loggingPrefs", logging);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        try {
            return new ChromeDriver(service, options);
        } catch (WebDriverException e) {
            service.stop();
            return fail("headless Chromium did not start (" + firstLine(e) + "): " + INSTALL, e);
        }
    }

    private static RouterService serve(InProcessFleet fleet) {
        FleetView view = new FleetView() {
            @Override
            public boolean healthy() {
                return fleet.router.serving();
            }

            @Override
            public String stateJson() {
                return fleet.router.stateJson();
            }
        };
        return RouterService.start(fleet.router.transformer(), MODEL, new RouterService.Settings("tiny-k2", "127.0.0.1", 0,
                SchedulerLimits.DEFAULT), chunks -> fleet.router.step(chunks),
                fleet.router::admit, view, io.opentelemetry.api.OpenTelemetry.noop());
    }

    private static CompletableFuture<HttpResponse<String>> complete(String base, int seed) {
        String body = "{\"model\": \"tiny-k2\", \"prompt\": [" + (5 + seed) + ", 17, 42, 7], \"max_tokens\": 12,"
                + " \"temperature\": 0, \"ignore_eos\": true}";
        return HttpClient.newHttpClient().sendAsync(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static List<WebElement> rows(WebDriver browser, String service) {
        return browser.findElements(By.cssSelector("#services tr[data-service='" + service + "']"));
    }

    private static int polls(WebDriver browser) {
        String polls = browser.findElement(By.tagName("body")).getDomAttribute("data-polls");
        return polls == null ? 0 : Integer.parseInt(polls);
    }

    /** The sum of a data attribute over the heatmap's cells, read in the page in one go. */
    private static long sum(WebDriver browser, String attribute) {
        Object sum = ((ChromeDriver) browser).executeScript("return [...document.querySelectorAll('#heatmap rect.cell')]"
                + ".reduce((s, c) => s + Number(c.getAttribute(arguments[0])), 0);", attribute);
        return ((Number) sum).longValue();
    }

    private static long routedTokens(InProcessFleet fleet) {
        return fleet.router.expertLoad().snapshot().values().stream().flatMapToLong(java.util.Arrays::stream).sum();
    }

    private static String firstLine(Throwable e) {
        String message = String.valueOf(e.getMessage());
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }
}
