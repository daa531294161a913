package io.moefleet.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.GoldenData;
import io.moefleet.model.ModelConfig;
import io.moefleet.router.api.FleetView;
import io.moefleet.router.scheduler.SchedulerLimits;
import io.opentelemetry.api.OpenTelemetry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code /metrics} after traffic through a fleet: the GenAI latency and token metrics beside the vLLM-like ones, the
 * per-layer expert load, per-shard call times and the KV caches, with names, units and values that add up.
 */
@Timeout(120)
class FleetMetricsTest {

    private static final Path MODEL = GoldenData.checkpoint("tiny-k2");
    private static final int REQUESTS = 3;
    private static final int PROMPT = 4;
    private static final int OUTPUT = 5;

    @Test
    void metricsAfterTrafficHaveTheirNamesUnitsAndValues() throws Exception {
        try (InProcessFleet fleet = InProcessFleet.start(MODEL, 2, 1, OpenTelemetry.noop(), OpenTelemetry.noop());
             RouterService api = RouterService.start(fleet.router.transformer(), MODEL,
                     new RouterService.Settings("tiny-k2", "127.0.0.1", 0, SchedulerLimits.DEFAULT),
                     chunks -> fleet.router.step(chunks), fleet.router::admit,
                     new FleetView() {
                         @Override
                         public boolean healthy() {
                             return true;
                         }

                         @Override
                         public void registerMetrics(PrometheusRegistry registry) {
                             fleet.router.registerMetrics(registry);
                         }
                     }, OpenTelemetry.noop())) {
            HttpClient http = HttpClient.newHttpClient();
            for (int r = 0; r < REQUESTS; r++) {
                HttpResponse<String> answer = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + "/v1/completions"))
                        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\": \"tiny-k2\", \"prompt\": [" + (5 + r) + ", 6, 7, 8], \"max_tokens\": " + OUTPUT
                                        + ", \"temperature\": 0, \"ignore_eos\": true}")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, answer.statusCode(), answer.body());
            }
            Map<String, Double> metrics = scrape(http, api);

            assertEquals(REQUESTS, metrics.get("gen_ai_server_time_to_first_token_seconds_count"));
            assertEquals(REQUESTS, metrics.get("moefleet_time_to_first_token_seconds_count"), "the vLLM-like name beside it");
            assertEquals(REQUESTS * (OUTPUT - 1), metrics.get("gen_ai_server_time_per_output_token_seconds_count"));
            assertEquals(REQUESTS, metrics.get("gen_ai_server_request_duration_seconds_count"));
            assertEquals(REQUESTS, metrics.get("moefleet_e2e_request_latency_seconds_count"));
            assertEquals(REQUESTS * PROMPT, metrics.get("gen_ai_client_token_usage_sum{gen_ai_token_type=\"input\"}"));
            assertEquals(REQUESTS * OUTPUT, metrics.get("gen_ai_client_token_usage_sum{gen_ai_token_type=\"output\"}"));
            assertTrue(metrics.get("gen_ai_server_request_duration_seconds_sum") > 0);

            // every token stepped goes through every MoE layer once, to top-k experts: prompts, then all but the last token
            ModelConfig config = fleet.router.transformer().config();
            double stepped = REQUESTS * PROMPT + REQUESTS * (OUTPUT - 1);
            assertEquals(stepped, metrics.get("moefleet_prompt_tokens_total") + metrics.get("moefleet_generation_tokens_total") - REQUESTS);
            for (int layer = config.firstKDenseReplace(); layer < config.numHiddenLayers(); layer++) {
                assertEquals(stepped * config.numExpertsPerTok(), metrics.get("moefleet_expert_tokens_sum{layer=\"" + layer + "\"}"),
                        "layer " + layer + "'s expert load: tokens x top-k");
                assertEquals(config.nRoutedExperts(), metrics.get("moefleet_expert_tokens_count{layer=\"" + layer + "\"}"),
                        "one observation per expert");
            }
            assertEquals(null, metrics.get("moefleet_expert_tokens_count{layer=\"0\"}"), "no series for a dense layer");
            for (String shard : new String[] {"0", "1"}) {
                assertTrue(metrics.getOrDefault("moefleet_expert_call_seconds_count{shard=\"" + shard + "\"}", 0.0) > 0,
                        "shard " + shard + "'s calls are timed");
            }
            String instance = fleet.endpoints.attentionAddresses().getFirst();
            assertTrue(metrics.get("moefleet_kv_positions{instance=\"" + instance + "\",state=\"free\"}") > 0,
                    "the instance's free KV positions: " + metrics.keySet());
            assertEquals(0.0, metrics.get("moefleet_kv_positions{instance=\"" + instance + "\",state=\"used\"}"), "all released");
            assertTrue(metrics.containsKey("moefleet_prefix_cache_pages_total{source=\"miss\"}"));
            assertEquals(0.0, metrics.get("moefleet_kv_hot_pages_evicted_total"), "no pool here, so no page was kept or evicted");
            assertEquals(0.0, metrics.get("moefleet_kv_hot_pages{instance=\"" + instance + "\"}"));
        }
    }

    private static final Pattern SAMPLE = Pattern.compile("^(\\S+?(?:\\{[^}]*})?)\\s+(\\S+)$");

    /** Every sample of the scrape, by its name and labels as written. */
    private static Map<String, Double> scrape(HttpClient http, RouterService api) throws Exception {
        String text = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Map<String, Double> samples = new HashMap<>();
        for (String line : text.split("\n")) {
            Matcher sample = SAMPLE.matcher(line.strip());
            if (!line.startsWith("#") && sample.matches()) {
                samples.put(sample.group(1), Double.parseDouble(sample.group(2)));
            }
        }
        return samples;
    }
}
