package io.moefleet.router;

import io.moefleet.attention.RemoteAttention;
import io.moefleet.model.forward.AttentionBackend;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import java.util.List;

/**
 * The attention instances inside a span per layer call, "attention layer N", current while the calls run so that the
 * gRPC client spans are the span's children; each call's wall time, the slowest instance's own time and the bytes go
 * to a {@link LayerCallRecorder}. The
 * bytes are the hidden-state rows that cross the wire, o_proj's input out and its output back ({@code 4 · hidden}
 * per token each way): they are what the step's arguments tell; the chunk list and headers add a few bytes per
 * sequence. Not thread-safe, as the model that calls it.
 */
public final class TracedAttention implements AttentionBackend {

    private final RemoteAttention backend;
    private final Tracer tracer;
    private final LayerCallRecorder calls;

    public TracedAttention(RemoteAttention backend, OpenTelemetry openTelemetry, LayerCallRecorder calls) {
        this.backend = backend;
        this.tracer = RouterSpans.tracer(openTelemetry);
        this.calls = calls;
    }

    @Override
    public void beginStep(List<StepChunk> chunks) {
        backend.beginStep(chunks);
    }

    /** The span opens as the calls go out (current while they are sent) and ends when their answers are in. */
    @Override
    public Pending begin(int layer, List<StepChunk> chunks, float[][] normed, int total, float[][] out) {
        long rowBytes = total == 0 ? 0 : (long) total * normed[0].length * Float.BYTES;
        Span span = tracer.spanBuilder("attention layer " + layer)
                .setAttribute(RouterSpans.LAYER, (long) layer)
                .setAttribute(RouterSpans.TOKENS, (long) total)
                .setAttribute(RouterSpans.SEQUENCES, (long) chunks.size())
                .setAttribute(RouterSpans.BYTES_SENT, rowBytes)
                .setAttribute(RouterSpans.BYTES_RECEIVED, rowBytes)
                .startSpan();
        long start = System.nanoTime();
        CallSpan call = new CallSpan(span);
        Pending pending = call.send(() -> backend.begin(layer, chunks, normed, total, out));
        return () -> call.finish(() -> {
            long waitFrom = System.nanoTime();
            pending.await();
            long end = System.nanoTime();
            calls.record(end - start, backend.lastSlowestInstanceNanos(), rowBytes, rowBytes, end - waitFrom);
        });
    }

    @Override
    public void release(Sequence sequence) {
        backend.release(sequence);
    }
}
