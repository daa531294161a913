package io.moefleet.router.scheduler;

import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.ContextKey;
import java.util.List;

/**
 * What a step's span and the scheduler tell each other, carried in the OpenTelemetry context around the step: a step
 * serves many requests, so its span is a child of one (the lead, whose trace then holds the step's whole tree) and
 * links to the others' spans; the step's own span context comes back so that those requests' spans link to it.
 */
public final class StepLinks {

    private static final ContextKey<StepLinks> KEY = ContextKey.named("moefleet-step-links");

    private final List<SpanContext> requests;
    private SpanContext step = SpanContext.getInvalid();

    StepLinks(List<SpanContext> requests) {
        this.requests = List.copyOf(requests);
    }

    /** The links of the step about to run on this thread, or null outside a scheduler's step. */
    public static StepLinks current() {
        return Context.current().get(KEY);
    }

    /** The spans of the step's requests other than its parent's. */
    public List<SpanContext> requests() {
        return requests;
    }

    /** The step's span has started as {@code span}. */
    public void stepStarted(SpanContext span) {
        step = span;
    }

    SpanContext step() {
        return step;
    }

    Context storeIn(Context context) {
        return context.with(KEY, this);
    }
}
