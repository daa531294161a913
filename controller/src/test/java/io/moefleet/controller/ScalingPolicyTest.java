package io.moefleet.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** When the fleet grows or shrinks, on hand-made signals. */
class ScalingPolicyTest {

    private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");
    private static final FleetSize SIZE = new FleetSize(2, 2);

    private static MoeFleet.Spec spec() {
        MoeFleet.Spec spec = new MoeFleet.Spec();
        spec.experts.routedExperts = 32;
        spec.experts.expertsPerPod = 16;
        spec.experts.minShards = 2;
        spec.experts.maxShards = 4;
        spec.attention.minInstances = 1;
        spec.attention.maxInstances = 3;
        spec.slo.ttftMillis = 2000;
        spec.slo.tpotMillis = 200;
        spec.scaling.kvPagesHighWatermark = 0.8;
        return spec;
    }

    @Test
    void aFullKvCacheAddsAnAttentionInstance() {
        ScalingPolicy.Decision decision = ScalingPolicy.decide(spec(), SIZE, new FleetSignals(0, 30, 100.0, 50.0, 0.9), null, NOW);
        assertEquals(new FleetSize(2, 3), decision.size());
        assertEquals("attention", decision.component());
        assertEquals("KV cache 90% full > 80%", decision.reason());
    }

    @Test
    void calmNeedsTheKvCacheUnderHalfItsWatermark() {
        FleetSignals quietButFull = new FleetSignals(0, 4, 100.0, 50.0, 0.5);
        assertFalse(ScalingPolicy.decide(spec(), new FleetSize(2, 2), quietButFull, null, NOW).changed());
        FleetSignals quiet = new FleetSignals(0, 4, 100.0, 50.0, 0.1);
        MoeFleet.Spec spec = spec();
        spec.experts.minShards = 2;
        spec.experts.maxShards = 2;
        ScalingPolicy.Decision decision = ScalingPolicy.decide(spec, new FleetSize(2, 2), quiet, null, NOW);
        assertEquals(new FleetSize(2, 1), decision.size(), decision.reason());
    }

    @Test
    void neverFewerShardsThanHoldEveryExpert() {
        MoeFleet.Spec spec = spec();
        spec.experts.minShards = 1;
        assertEquals(2, ScalingPolicy.leastShards(spec));
        ScalingPolicy.Decision decision = ScalingPolicy.decide(spec, new FleetSize(1, 1), FleetSignals.NONE, null, NOW);
        assertEquals(2, decision.size().shards());
        assertTrue(decision.reason().contains("within bounds [2, 4]"), decision.reason());
    }

    @Test
    void noSignalScalesNothing() {
        assertFalse(ScalingPolicy.decide(spec(), SIZE, FleetSignals.NONE, null, NOW).changed());
        assertEquals(FleetSignals.NONE, FleetSignals.NONE.withKvUsed(0.99));
    }
}
