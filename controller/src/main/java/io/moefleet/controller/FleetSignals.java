package io.moefleet.controller;

/**
 * What the router reports about load, as the controller scales on it. Latencies are over the last scrape interval
 * (null when no request finished in it).
 *
 * @param waiting       requests queued for a place in the running batch
 * @param running       sequences in the running batch
 * @param ttftP90Millis time to first token, 90th percentile
 * @param tpotP90Millis time per output token (a scheduler step), 90th percentile
 * @param kvUsed        the fullest attention instance's KV cache, cached positions over those that fit (null: unknown)
 */
public record FleetSignals(double waiting, double running, Double ttftP90Millis, Double tpotP90Millis, Double kvUsed) {

    /** No signal: the router is not reachable or has not served yet. Nothing scales on it. */
    public static final FleetSignals NONE = new FleetSignals(0, 0, null, null, null);

    public FleetSignals(double waiting, double running, Double ttftP90Millis, Double tpotP90Millis) {
        this(waiting, running, ttftP90Millis, tpotP90Millis, null);
    }

    /** These signals with the KV use the router's state reports. */
    public FleetSignals withKvUsed(Double used) {
        return this == NONE ? NONE : new FleetSignals(waiting, running, ttftP90Millis, tpotP90Millis, used);
    }
}
