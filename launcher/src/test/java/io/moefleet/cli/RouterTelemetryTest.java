package io.moefleet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.sdk.OpenTelemetrySdk;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code --trace-sampling}: the router's sampler, parent-based over a trace-id ratio, off unless asked for. */
class RouterTelemetryTest {

    @Test
    void theFlagSetsTheRatioOfAParentBasedSampler() {
        String sampler = sampler("--trace-sampling", "0.25");
        assertTrue(sampler.startsWith("ParentBased{root:TraceIdRatioBased{0.250000}"), sampler);
    }

    @Test
    void withoutTheFlagNoTraceIsSampled() {
        String sampler = sampler();
        assertTrue(sampler.startsWith("ParentBased{root:TraceIdRatioBased{0.000000}"), sampler);
    }

    @Test
    void aRatioOutsideZeroToOneIsAUsageError() {
        for (String bad : new String[] {"-0.1", "1.01", "half"}) {
            UsageException e = assertThrows(UsageException.class,
                    () -> RouterTelemetry.open("serve", Args.parse("serve", new String[] {"--trace-sampling", bad}, 0, Set.of())));
            assertEquals("serve: --trace-sampling must be a ratio from 0 to 1, got '" + bad + "'", e.getMessage());
        }
    }

    private static String sampler(String... argv) {
        OpenTelemetrySdk sdk = RouterTelemetry.open("serve", Args.parse("serve", argv, 0, Set.of()));
        try {
            return sdk.getSdkTracerProvider().getSampler().getDescription();
        } finally {
            sdk.close();
        }
    }
}
