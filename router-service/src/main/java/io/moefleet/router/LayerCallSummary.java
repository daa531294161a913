package io.moefleet.router;

/**
 * What a {@link LayerCallRecorder} saw since its last reset: the number of calls, wall-time percentiles over its most
 * recent calls, the same percentiles of the slowest server's own time per call (0 where servers do not say), and the
 * mean bytes each call sent and received; the share of all the calls' wall time during which the caller was not
 * blocked on them (hidden behind other work: 0 when it waited for every call from start to end).
 */
public record LayerCallSummary(long calls, double p50Micros, double p99Micros, double serverP50Micros,
        double serverP99Micros, double bytesSentPerCall, double bytesReceivedPerCall, double hiddenShare) {}
