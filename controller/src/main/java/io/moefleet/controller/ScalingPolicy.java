package io.moefleet.controller;

import java.time.Duration;
import java.time.Instant;

/**
 * When to add or remove an expert shard or an attention instance: one step at a time, within the spec's bounds, and
 * not again before the cooldown has passed since the last change (so that a change's effect is measured before the
 * next, and the fleet does not flap). Bounds are enforced at once, cooldown or not.
 *
 * <ul>
 *   <li>expert shards grow when the queue is longer than {@code queueDepthPerShard} per shard or time per output
 *       token is over its SLO (a decode step waits on the slowest shard: more shards, fewer experts each); they
 *       shrink when nothing waits and both latencies are under half their SLO;
 *   <li>attention instances grow when the fullest one's KV cache is over {@code kvPagesHighWatermark} of what fits, or
 *       time to first token is over its SLO with requests waiting (prefill is attention bound); they shrink under the
 *       same calm as the shards, with KV use under half the watermark.
 * </ul>
 * Never fewer shards than hold every routed expert ({@code ceil(routedExperts / expertsPerPod)}).
 */
public final class ScalingPolicy {

    static final Duration DEFAULT_COOLDOWN = Duration.ofSeconds(120);
    static final int DEFAULT_QUEUE_DEPTH_PER_SHARD = 16;
    static final double DEFAULT_KV_HIGH_WATERMARK = 0.85;

    /** The size to run, and why it changed (null reason: unchanged). */
    public record Decision(FleetSize size, String component, String reason) {
        public boolean changed() {
            return reason != null;
        }
    }

    private ScalingPolicy() {}

    public static Decision decide(MoeFleet.Spec spec, FleetSize current, FleetSignals signals, Instant lastChange, Instant now) {
        int minShards = Math.max(orElse(spec.experts.minShards, 1), leastShards(spec));
        int maxShards = Math.max(minShards, orElse(spec.experts.maxShards, current.shards()));
        int minAttention = orElse(spec.attention.minInstances, 1);
        int maxAttention = Math.max(minAttention, orElse(spec.attention.maxInstances, current.attentionInstances()));
        if (current.shards() < minShards || current.shards() > maxShards) {
            int to = Math.clamp(current.shards(), minShards, maxShards);
            return new Decision(current.withShards(to), "expert", "expert shards brought within bounds [" + minShards + ", "
                    + maxShards + "]");
        }
        if (current.attentionInstances() < minAttention || current.attentionInstances() > maxAttention) {
            int to = Math.clamp(current.attentionInstances(), minAttention, maxAttention);
            return new Decision(current.withAttentionInstances(to), "attention", "attention instances brought within bounds ["
                    + minAttention + ", " + maxAttention + "]");
        }
        Duration cooldown = Duration.ofSeconds(orElse(spec.scaling.cooldownSeconds, (int) DEFAULT_COOLDOWN.toSeconds()));
        if (lastChange != null && now.isBefore(lastChange.plus(cooldown))) {
            return new Decision(current, null, null);
        }
        Integer ttftSlo = spec.slo.ttftMillis;
        Integer tpotSlo = spec.slo.tpotMillis;
        int queuePerShard = orElse(spec.scaling.queueDepthPerShard, DEFAULT_QUEUE_DEPTH_PER_SHARD);
        boolean queueLong = signals.waiting() > (double) queuePerShard * current.shards();
        boolean tpotOver = over(signals.tpotP90Millis(), tpotSlo, 1.0);
        boolean ttftOver = over(signals.ttftP90Millis(), ttftSlo, 1.0);
        double kvWatermark = spec.scaling.kvPagesHighWatermark != null ? spec.scaling.kvPagesHighWatermark : DEFAULT_KV_HIGH_WATERMARK;
        boolean kvFull = signals.kvUsed() != null && signals.kvUsed() > kvWatermark;
        boolean calm = signals.waiting() == 0 && !over(signals.tpotP90Millis(), tpotSlo, 0.5)
                && !over(signals.ttftP90Millis(), ttftSlo, 0.5) && (signals.kvUsed() == null || signals.kvUsed() < kvWatermark / 2);

        if ((queueLong || tpotOver) && current.shards() < maxShards) {
            String why = queueLong ? String.format("%.0f requests waiting > %d per shard x %d shards", signals.waiting(), queuePerShard,
                    current.shards()) : String.format("time per output token p90 %.0f ms > SLO %d ms", signals.tpotP90Millis(), tpotSlo);
            return new Decision(current.withShards(current.shards() + 1), "expert", why);
        }
        if ((kvFull || ttftOver && signals.waiting() > 0) && current.attentionInstances() < maxAttention) {
            return new Decision(current.withAttentionInstances(current.attentionInstances() + 1), "attention", kvFull
                    ? String.format("KV cache %.0f%% full > %.0f%%", 100 * signals.kvUsed(), 100 * kvWatermark)
                    : String.format("time to first token p90 %.0f ms > SLO %d ms with %.0f waiting", signals.ttftP90Millis(), ttftSlo,
                            signals.waiting()));
        }
        if (calm && signals != FleetSignals.NONE && current.shards() > minShards) {
            return new Decision(current.withShards(current.shards() - 1), "expert",
                    "calm: nothing waiting, latencies under half their SLOs");
        }
        if (calm && signals != FleetSignals.NONE && current.attentionInstances() > minAttention) {
            return new Decision(current.withAttentionInstances(current.attentionInstances() - 1), "attention",
                    "calm: nothing waiting, latencies under half their SLOs");
        }
        return new Decision(current, null, null);
    }

    /** The fewest shards that hold every routed expert once. */
    static int leastShards(MoeFleet.Spec spec) {
        if (spec.experts.routedExperts == null || spec.experts.expertsPerPod == null) {
            return 1;
        }
        return Math.ceilDiv(spec.experts.routedExperts, spec.experts.expertsPerPod);
    }

    private static boolean over(Double measured, Integer slo, double share) {
        return measured != null && slo != null && measured > slo * share;
    }

    private static int orElse(Integer value, int fallback) {
        return value != null ? value : fallback;
    }
}
