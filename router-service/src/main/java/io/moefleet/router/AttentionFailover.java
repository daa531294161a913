package io.moefleet.router;

import io.moefleet.attention.AttentionInstanceException;
import io.moefleet.attention.RemoteAttention;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.util.ArrayList;
import java.util.List;

/**
 * Steps that survive the loss of an attention instance: when a step fails because an instance did not answer (it is
 * then routed around), every sequence of the step held there moves to another instance ({@link RemoteAttention#move}),
 * the chunks that recompute its positions the KV pool did not restore run as steps of their own (the moved sequences'
 * k-th chunks together: steps are batch-invariant), and the failed step runs again. Sequences on instances that
 * answered simply run their chunk again: an instance recomputes a chunk that starts below its cached length. The
 * request's tokens are those of an undisturbed run; the step took longer. Traced ("attention failover" span) and counted
 * ({@link FleetMetrics}).
 */
final class AttentionFailover {

    /** A step tried this many times (each failure routes an instance around) before its failure is the step's. */
    private static final int MAX_ATTEMPTS = 4;
    private static final AttributeKey<Long> MOVED = AttributeKey.longKey("moefleet.failover.sequences_moved");
    private static final AttributeKey<Long> RECOMPUTED = AttributeKey.longKey("moefleet.failover.recomputed_tokens");

    private final Transformer transformer;
    private final StepTracer steps;
    private final RemoteAttention attention;
    private final FleetMetrics metrics;
    private final Tracer tracer;

    AttentionFailover(Transformer transformer, StepTracer steps, RemoteAttention attention, FleetMetrics metrics,
            OpenTelemetry openTelemetry) {
        this.transformer = transformer;
        this.steps = steps;
        this.attention = attention;
        this.metrics = metrics;
        this.tracer = RouterSpans.tracer(openTelemetry);
    }

    /** The step's logits, as {@code transformer.step(chunks)} gives them; traced. */
    List<float[][]> step(List<StepChunk> chunks) {
        for (int attempt = 1; ; attempt++) {
            try {
                return steps.step(transformer, chunks);
            } catch (AttentionInstanceException e) {
                if (e.failedInstances().isEmpty() || attempt == MAX_ATTEMPTS) {
                    throw e;
                }
                moveOff(chunks, e);
            }
        }
    }

    /** Moves the step's sequences held by instances routed around, and recomputes what the pool did not restore. */
    private void moveOff(List<StepChunk> chunks, AttentionInstanceException failure) {
        Span span = tracer.spanBuilder("attention failover").startSpan();
        try (Scope ignored = span.makeCurrent()) {
            span.recordException(failure);
            List<List<StepChunk>> recomputing = new ArrayList<>();
            long recomputed = 0;
            for (StepChunk chunk : chunks) {
                if (attention.heldByDownInstance(chunk.sequence())) {
                    List<StepChunk> redo = attention.move(chunk);
                    recomputing.add(redo);
                    for (StepChunk c : redo) {
                        recomputed += c.tokens().length;
                    }
                }
            }
            span.setAttribute(MOVED, (long) recomputing.size());
            span.setAttribute(RECOMPUTED, recomputed);
            metrics.recordMoves(recomputing.size(), recomputed);
            for (int k = 0; ; k++) {
                List<StepChunk> round = new ArrayList<>();
                for (List<StepChunk> redo : recomputing) {
                    if (k < redo.size()) {
                        round.add(redo.get(k));
                    }
                }
                if (round.isEmpty()) {
                    break;
                }
                step(round);   // an instance lost meanwhile moves these sequences again
            }
        } catch (RuntimeException e) {
            throw RouterSpans.failed(span, e);
        } finally {
            span.end();
        }
    }
}
