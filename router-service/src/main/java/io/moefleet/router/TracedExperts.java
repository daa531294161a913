package io.moefleet.router;

import io.moefleet.expert.RemoteExperts;
import io.moefleet.model.forward.ExpertBackend;
import io.moefleet.model.forward.Routing;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;

/**
 * The expert shards inside a span per MoE layer call, "experts layer N", from the dispatch to the end of the combine,
 * current while the calls start so that the gRPC client spans (one per shard) are its children. Each call's wall time
 * (dispatch to the last shard's answer), the slowest shard's own time and the message bytes both ways (from
 * {@link RemoteExperts}) go to a {@link LayerCallRecorder}, the tokens each expert got and each shard's call time to
 * {@link FleetMetrics}. Each
 * layer goes to the shards of the {@link ShardSet} current at its dispatch. Not thread-safe, as the model that calls it.
 */
public final class TracedExperts implements ExpertBackend {

    private final ShardSet shards;
    private final Tracer tracer;
    private final LayerCallRecorder calls;
    private final FleetMetrics metrics;

    public TracedExperts(ShardSet shards, OpenTelemetry openTelemetry, LayerCallRecorder calls, FleetMetrics metrics) {
        this.shards = shards;
        this.tracer = RouterSpans.tracer(openTelemetry);
        this.calls = calls;
        this.metrics = metrics;
    }

    @Override
    public Combine dispatch(int layer, float[][] xs, int n, Routing[] routings) {
        Span span = tracer.spanBuilder("experts layer " + layer)
                .setAttribute(RouterSpans.LAYER, (long) layer)
                .setAttribute(RouterSpans.TOKENS, (long) n)
                .startSpan();
        metrics.recordRouting(layer, routings, n);
        RemoteExperts experts = shards.forDispatch();
        CallSpan call = new CallSpan(span);
        Combine routed = call.send(() -> experts.dispatch(layer, xs, n, routings));
        long bytesSent = experts.lastBytesSent();   // read now: the other micro-batch's dispatch may come before this combine
        return out -> call.finish(() -> {
            long waitFrom = System.nanoTime();
            routed.addInto(out);
            calls.record(experts.lastCallNanos(), experts.lastSlowestShardNanos(), bytesSent,
                    experts.lastBytesReceived(), System.nanoTime() - waitFrom);
            metrics.recordShardCalls(experts.lastShardCallNanos());
            if (span.isRecording()) {
                span.setAttribute(RouterSpans.EXPERT_ASSIGNMENTS, assignments(routings, n));
                span.setAttribute(RouterSpans.BYTES_SENT, bytesSent);
                span.setAttribute(RouterSpans.BYTES_RECEIVED, experts.lastBytesReceived());
            }
        });
    }

    private static long assignments(Routing[] routings, int n) {
        long pairs = 0;
        for (int t = 0; t < n; t++) {
            pairs += routings[t].experts().length;
        }
        return pairs;
    }
}
