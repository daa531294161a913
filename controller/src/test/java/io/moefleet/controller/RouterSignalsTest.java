package io.moefleet.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** The load signals read from a router's Prometheus text, percentiles over what changed between two scrapes. */
class RouterSignalsTest {

    private static String scrape(int waiting, long[] ttft) {
        double[] bounds = {0.05, 0.1, 0.25, 0.5, 1, 2.5};
        StringBuilder text = new StringBuilder("# HELP moefleet_scheduler_waiting Requests waiting\n"
                + "# TYPE moefleet_scheduler_waiting gauge\nmoefleet_scheduler_waiting " + waiting + ".0\n"
                + "moefleet_scheduler_running 8.0\n");
        long cumulative = 0;
        for (int i = 0; i < bounds.length; i++) {
            cumulative += ttft[i];
            text.append("moefleet_time_to_first_token_seconds_bucket{le=\"").append(bounds[i]).append("\"} ").append(cumulative).append('\n');
        }
        text.append("moefleet_time_to_first_token_seconds_bucket{le=\"+Inf\"} ").append(cumulative).append('\n');
        return text.toString();
    }

    @Test
    void gaugesAndTheNinetiethPercentileOfTheLastInterval() {
        RouterSignals signals = RouterSignals.inCluster(8000, null);
        FleetSignals first = signals.parse("ns/demo", scrape(3, new long[] {90, 10, 0, 0, 0, 0}));
        assertEquals(3, first.waiting());
        assertEquals(8, first.running());
        assertEquals(50.0, first.ttftP90Millis(), "90 of 100 within 50 ms");
        assertNull(first.tpotP90Millis(), "no step histogram in this scrape");

        // 100 more requests, all slow: the interval's percentile, not the whole history's
        FleetSignals second = signals.parse("ns/demo", scrape(40, new long[] {90, 10, 0, 0, 100, 0}));
        assertEquals(1000.0, second.ttftP90Millis());
        assertNull(signals.parse("ns/demo", scrape(40, new long[] {90, 10, 0, 0, 100, 0})).ttftP90Millis(),
                "nothing new since the last scrape");
    }
}
