package io.moefleet.controller;

import java.net.URI;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The load signals of each fleet, read from its router's Prometheus {@code /metrics}: the scheduler's waiting and
 * running gauges, and the 90th percentile of time to first token and of step time (one step is one output token per
 * running sequence) over the requests since the previous read, from the histograms' buckets.
 */
public final class RouterSignals implements MoeFleetReconciler.SignalSource {

    private static final System.Logger LOG = System.getLogger(RouterSignals.class.getName());
    static final String TTFT = "moefleet_time_to_first_token_seconds";
    static final String STEP = "moefleet_scheduler_step_seconds";

    private final Map<String, Map<String, TreeMap<Double, Double>>> previous = new ConcurrentHashMap<>();
    private final Function<MoeFleet, URI> metrics;
    private final String key;

    /** @param metrics where a fleet's router serves its {@code /metrics} */
    public RouterSignals(Function<MoeFleet, URI> metrics) {
        this(metrics, null);
    }

    /** As above, asking with the API key {@code key} (null: none) */
    public RouterSignals(Function<MoeFleet, URI> metrics, String key) {
        this.metrics = metrics;
        this.key = key;
    }

    /**
     * Inside the cluster: the fleet's router Service, {@code <fleet>-router.<namespace>.svc:<port>}, asked with the API
     * key {@code key} (null: none).
     */
    public static RouterSignals inCluster(int routerPort, String key) {
        return new RouterSignals(fleet -> URI.create("http://" + fleet.getMetadata().getName() + "-router."
                + fleet.getMetadata().getNamespace() + ".svc:" + routerPort + "/metrics"), key);
    }

    @Override
    public FleetSignals read(MoeFleet fleet) {
        String name = fleet.getMetadata().getName();
        URI uri = metrics.apply(fleet);
        String text;
        try {
            text = RouterHttp.get(uri, key);
        } catch (java.io.IOException e) {
            LOG.log(System.Logger.Level.WARNING, uri + ": " + e.getMessage() + ": no load signal");
            return FleetSignals.NONE;
        }
        return parse(fleet.getMetadata().getNamespace() + "/" + name, text);
    }

    /** The signals in one scrape of {@code text}, the percentiles over what changed since this fleet's last one. */
    FleetSignals parse(String fleetKey, String text) {
        PrometheusText metrics = PrometheusText.parse(text);
        Map<String, TreeMap<Double, Double>> now = Map.of(TTFT, metrics.buckets(TTFT), STEP, metrics.buckets(STEP));
        Map<String, TreeMap<Double, Double>> before = previous.put(fleetKey, now);
        return new FleetSignals(metrics.value("moefleet_scheduler_waiting"), metrics.value("moefleet_scheduler_running"),
                p90Millis(now.get(TTFT), before == null ? null : before.get(TTFT)),
                p90Millis(now.get(STEP), before == null ? null : before.get(STEP)));
    }

    /** The 90th percentile's bucket bound in ms over the observations between two cumulative bucket sets; null if none. */
    static Double p90Millis(TreeMap<Double, Double> now, TreeMap<Double, Double> before) {
        if (now.isEmpty()) {
            return null;
        }
        double total = now.lastEntry().getValue() - (before == null || before.isEmpty() ? 0 : before.lastEntry().getValue());
        if (total <= 0) {
            return null;
        }
        for (Map.Entry<Double, Double> bucket : now.entrySet()) {
            double count = bucket.getValue() - (before == null ? 0 : before.getOrDefault(bucket.getKey(), 0.0));
            if (count >= 0.9 * total) {
                return bucket.getKey().isInfinite() ? now.lowerKey(bucket.getKey()) * 1000 : bucket.getKey() * 1000;
            }
        }
        return null;
    }
}
