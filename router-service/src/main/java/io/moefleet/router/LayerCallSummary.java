package io.moefleet.router;

/**
 * What a {@link LayerCallRecorder} saw since its last reset: the number of calls, wall-time percentiles over its most
 * recent calls, and the mean bytes each call sent and received.
 */
public record LayerCallSummary(long calls, double p50Micros, double p99Micros, double bytesSentPerCall,
        double bytesReceivedPerCall) {}
