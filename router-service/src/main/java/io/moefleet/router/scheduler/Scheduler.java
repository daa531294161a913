package io.moefleet.router.scheduler;

import io.moefleet.chat.generation.FinishReason;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.sampling.SequenceSampler;
import io.moefleet.sampling.TokenMask;
import io.moefleet.router.RouterSpans;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * Continuous batching: one stepping thread runs the model over a batch that requests join and leave between steps.
 * Each step carries one decode token of every running sequence, then prefill chunks of the newly admitted prompts in
 * arrival order, up to {@link SchedulerLimits#stepTokenBudget()} tokens, so a long prompt is spread over several steps
 * while the others keep decoding. Requests beyond {@link SchedulerLimits#maxRunning()} wait in a bounded queue; a full
 * queue, a wait past the limit, or a draining scheduler turn a request away ({@link RejectedException}) instead of
 * letting queues grow. A cancelled generation leaves the batch at the next step and its KV cache is freed. Admission
 * (in the fleet: choosing an attention instance, restoring a cached prefix from the KV pool) runs on a thread of its own
 * and the sequence joins the batch once it is done, so that a slow pool lookup delays only that request, never the
 * others' decode.
 *
 * <p>A sequence's tokens depend only on its own prompt, sampler and policy: the model's steps are bitwise
 * batch-invariant and each sampler has its own seeded generator, so a request gives the same tokens alone or among
 * others.
 */
public final class Scheduler implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());

    private final Transformer model;
    private final Function<List<StepChunk>, List<float[][]>> step;
    private final SequenceAdmission admission;
    private final SchedulerLimits limits;
    private final SchedulerMetrics metrics;
    private final Thread thread;

    private final Object lock = new Object();
    private final ArrayDeque<Active> waiting = new ArrayDeque<>();   // guarded by lock
    private boolean draining;                                       // guarded by lock
    private boolean stopped;                                        // guarded by lock

    private final List<Active> running = new ArrayList<>();         // the stepping thread's alone
    private final List<Active> admitting = new ArrayList<>();       // the stepping thread's alone: admissions under way
    private final java.util.concurrent.ExecutorService admissions;  // null: admission is immediate (nothing cached)
    private final Tracer tracer;

    /**
     * A scheduler over {@code model}, whose steps run through {@code step} (the model's own step, or one wrapped in a
     * span), admitting sequences through {@code admission}.
     */
    public Scheduler(Transformer model, Function<List<StepChunk>, List<float[][]>> step, SequenceAdmission admission,
            SchedulerLimits limits, SchedulerMetrics metrics) {
        this(model, step, admission, limits, metrics, OpenTelemetry.noop());
    }

    /**
     * As above, each request's queueing and admission traced under the request's span, and each step run with its lead
     * request's span current and the others' as {@link StepLinks}.
     */
    public Scheduler(Transformer model, Function<List<StepChunk>, List<float[][]>> step, SequenceAdmission admission,
            SchedulerLimits limits, SchedulerMetrics metrics, OpenTelemetry openTelemetry) {
        this.tracer = RouterSpans.tracer(openTelemetry);
        this.model = model;
        this.step = step;
        this.admission = admission;
        this.limits = limits;
        this.metrics = metrics;
        // one virtual thread per admission (at most the batch's room at once): one slow lookup holds up no other
        this.admissions = admission == SequenceAdmission.NONE ? null : java.util.concurrent.Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("scheduler-admission-", 0).factory());
        this.thread = Thread.ofPlatform().name("scheduler-step").daemon().unstarted(this::run);
        thread.start();
    }

    /** A scheduler stepping {@code model} directly, nothing cached at admission. */
    public Scheduler(Transformer model, SchedulerLimits limits, SchedulerMetrics metrics) {
        this(model, model::step, SequenceAdmission.NONE, limits, metrics);
    }

    public int contextLength() {
        return model.config().maxPositionEmbeddings();
    }

    public int vocabSize() {
        return model.config().vocabSize();
    }

    /**
     * Queues a generation, traced on its own; its results go to its listener.
     *
     * @throws RejectedException when the queue is full or the scheduler is draining (nothing is queued then)
     */
    public Handle submit(Generation generation) {
        return submit(generation, Context.root());
    }

    /**
     * Queues a generation for the request whose span is current in {@code trace}: its time in the queue, its admission
     * and the steps it leads are traced under that span, the steps it shares linked to it.
     *
     * @throws RejectedException when the queue is full or the scheduler is draining (nothing is queued then)
     */
    public Handle submit(Generation generation, Context trace) {
        int context = contextLength();
        if (generation.prompt().length + generation.maxTokens() > context) {
            throw new IllegalArgumentException("the prompt's " + generation.prompt().length + " tokens and " + generation.maxTokens()
                    + " tokens to generate exceed the context of " + context);
        }
        for (int token : generation.prompt()) {
            if (token < 0 || token >= vocabSize()) {
                throw new IllegalArgumentException("prompt token " + token + " is not in the vocabulary [0, " + vocabSize() + ")");
            }
        }
        Active active = new Active(generation, System.nanoTime(), trace,
                tracer.spanBuilder("queue").setParent(trace).setAttribute(RouterSpans.PROMPT_TOKENS, (long) generation.prompt().length)
                        .startSpan());
        synchronized (lock) {
            if (draining || stopped) {
                throw active.leaveQueue(reject(RejectedException.Reason.DRAINING, "the server is draining and takes no new requests",
                        Duration.ofSeconds(30)));
            }
            if (waiting.size() >= limits.maxWaiting()) {
                throw active.leaveQueue(reject(RejectedException.Reason.QUEUE_FULL, "too many requests are waiting (" + waiting.size()
                        + "); try again shortly", Duration.ofSeconds(1)));
            }
            waiting.add(active);
            metrics.waiting.set(waiting.size());
            lock.notifyAll();
        }
        return active;
    }

    /** Takes no new requests; those queued and running finish. */
    public void drain() {
        synchronized (lock) {
            draining = true;
        }
    }

    public boolean isDraining() {
        synchronized (lock) {
            return draining || stopped;
        }
    }

    /** Waits until nothing is queued or running, at most {@code timeout}; returns whether that happened. */
    public boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (metrics.waiting.get() > 0 || metrics.admitting.get() > 0 || metrics.running.get() > 0) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    /** Stops stepping: waiting requests are turned away and running ones fail; their caches are freed. */
    @Override
    public void close() {
        synchronized (lock) {
            stopped = true;
            lock.notifyAll();
        }
        try {
            thread.join(Duration.ofSeconds(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (admissions != null) {
            admissions.shutdownNow();
        }
    }

    /** A queued or running generation, as its submitter sees it. */
    public interface Handle {

        /** Ends the generation at the next step boundary and frees its KV cache; its listener gets no further call. */
        void cancel();
    }

    private RejectedException reject(RejectedException.Reason reason, String message, Duration retryAfter) {
        metrics.rejected.labelValues(reason.name().toLowerCase()).inc();
        return new RejectedException(reason, message, retryAfter);
    }

    private void run() {
        try {
            while (admitAndWait()) {
                dropCancelled();
                if (!running.isEmpty()) {
                    step();
                }
            }
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.ERROR, "the scheduler's stepping thread died", e);
            throw e;
        } finally {
            shutDown();
        }
    }

    /**
     * Starts admitting waiting requests while the batch has room, turning away those that waited too long, and moves
     * those admitted into the batch; waits while there is nothing to step.
     */
    private boolean admitAndWait() {
        List<Active> expired = new ArrayList<>();
        List<Active> admitted = new ArrayList<>();
        synchronized (lock) {
            while (!stopped && running.isEmpty() && !anyAdmitted()
                    && (waiting.isEmpty() || running.size() + admitting.size() >= limits.maxRunning())) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            if (stopped) {
                return false;
            }
            long now = System.nanoTime();
            for (Iterator<Active> it = waiting.iterator(); it.hasNext(); ) {
                Active active = it.next();
                if (active.cancelled) {
                    it.remove();
                    metrics.cancelled.inc();
                } else if (now - active.submittedNanos > limits.maxQueueWait().toNanos()) {
                    it.remove();
                    expired.add(active);
                }
            }
            while (running.size() + admitting.size() + admitted.size() < limits.maxRunning() && !waiting.isEmpty()) {
                admitted.add(waiting.poll());
            }
            metrics.waiting.set(waiting.size());
        }
        for (Active active : expired) {
            active.fail(active.leaveQueue(reject(RejectedException.Reason.QUEUE_TIMEOUT, "the request waited over "
                    + limits.maxQueueWait().toSeconds() + " s for a place in the batch", Duration.ofSeconds(5))));
        }
        for (Active active : admitted) {
            start(active);
        }
        joinAdmitted();
        metrics.running.set(running.size());
        metrics.admitting.set(admitting.size());
        return true;
    }

    /** Starts the request's admission: at once without anything cached, else on the admission thread. */
    private void start(Active active) {
        metrics.queueWaitSeconds.observe((System.nanoTime() - active.submittedNanos) / 1e9);
        active.leaveQueue(null);
        try {
            active.sequence = model.newSequence();
            active.sampler = new SequenceSampler(active.generation.sampling(), active.generation.prompt(), vocabSize());
        } catch (RuntimeException e) {
            active.fail(e);   // settings the sampler refuses fail this request alone
            return;
        }
        if (admissions == null) {
            active.admitted = java.util.concurrent.CompletableFuture.completedFuture(0);
        } else {
            Span span = tracer.spanBuilder("admission").setParent(active.trace)
                    .setAttribute(RouterSpans.PROMPT_TOKENS, (long) active.generation.prompt().length).startSpan();
            active.admitted = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try (Scope ignored = active.trace.with(span).makeCurrent()) {
                    int cached = admission.admit(active.sequence, active.generation.prompt());
                    span.setAttribute(RouterSpans.CACHED_TOKENS, (long) cached);
                    return cached;
                } catch (RuntimeException e) {
                    throw RouterSpans.failed(span, e);
                } finally {
                    span.end();
                }
            }, admissions);
            active.admitted.whenComplete((cached, failure) -> {
                synchronized (lock) {
                    lock.notifyAll();   // once done: the stepping thread may be waiting with nothing else to do
                }
            });
        }
        admitting.add(active);
    }

    /** Whether an admission under way has ended (its sequence can join, or fail). */
    private boolean anyAdmitted() {
        for (Active active : admitting) {
            if (active.admitted.isDone()) {
                return true;
            }
        }
        return false;
    }

    /** Sequences whose admission ended join the batch; a failed or cancelled one leaves (its cache freed). */
    private void joinAdmitted() {
        for (Iterator<Active> it = admitting.iterator(); it.hasNext(); ) {
            Active active = it.next();
            if (!active.admitted.isDone()) {
                continue;
            }
            it.remove();
            try {
                active.prefilled = active.admitted.join();
            } catch (java.util.concurrent.CompletionException e) {
                release(active);
                active.fail(e.getCause() instanceof RuntimeException cause ? cause : e);
                continue;
            }
            if (active.cancelled) {
                release(active);
                metrics.cancelled.inc();
                continue;
            }
            running.add(active);
        }
    }

    private void dropCancelled() {
        for (Iterator<Active> it = running.iterator(); it.hasNext(); ) {
            Active active = it.next();
            if (active.cancelled) {
                it.remove();
                release(active);
                metrics.cancelled.inc();
            }
        }
        metrics.running.set(running.size());
    }

    /** One model step: every decode token, then prefill chunks within the budget; then sampling. */
    private void step() {
        int budget = limits.stepTokenBudget();
        List<StepChunk> chunks = new ArrayList<>();
        List<Active> members = new ArrayList<>();
        for (Active active : running) {
            if (active.decoding()) {
                chunks.add(StepChunk.next(active.sequence, new int[] {active.lastToken}, false));
                members.add(active);
                budget--;
            }
        }
        for (Active active : running) {
            if (!active.decoding() && budget > 0) {
                int[] prompt = active.generation.prompt();
                int end = Math.min(prompt.length, active.prefilled + budget);
                chunks.add(StepChunk.next(active.sequence, Arrays.copyOfRange(prompt, active.prefilled, end), false));
                members.add(active);
                budget -= end - active.prefilled;
            }
        }
        long start = System.nanoTime();
        List<float[][]> logits;
        Active lead = members.getFirst();
        StepLinks links = new StepLinks(requestSpans(members, lead));
        try (Scope ignored = links.storeIn(lead.trace).makeCurrent()) {
            logits = step.apply(chunks);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "a step over " + members.size() + " sequence(s) failed: " + e.getMessage());
            for (Active active : members) {
                running.remove(active);
                release(active);
                active.fail(e);
            }
            metrics.running.set(running.size());
            return;
        }
        metrics.steps.inc();
        metrics.stepSeconds.observe((System.nanoTime() - start) / 1e9);
        linkToStep(members, lead, links.step());
        for (int i = 0; i < members.size(); i++) {
            Active active = members.get(i);
            int tokens = chunks.get(i).tokens().length;
            if (!active.decoding()) {
                active.prefilled += tokens;
                metrics.promptTokens.inc(tokens);
                if (active.prefilled < active.generation.prompt().length) {
                    continue;                                    // more prompt to prefill: these logits are not wanted
                }
            }
            sample(active, logits.get(i)[0]);
        }
        metrics.running.set(running.size());
    }

    /** The spans of the step's requests apart from the lead's, each once (a request's choices share its span). */
    private static List<SpanContext> requestSpans(List<Active> members, Active lead) {
        SpanContext leading = Span.fromContext(lead.trace).getSpanContext();
        Set<SpanContext> spans = new LinkedHashSet<>();
        for (Active member : members) {
            SpanContext span = Span.fromContext(member.trace).getSpanContext();
            if (span.isValid() && !span.equals(leading)) {
                spans.add(span);
            }
        }
        return List.copyOf(spans);
    }

    /** The requests a step served, other than its lead (its parent), get a link to it, each once. */
    private static void linkToStep(List<Active> members, Active lead, SpanContext step) {
        if (!step.isValid()) {
            return;
        }
        SpanContext leading = Span.fromContext(lead.trace).getSpanContext();
        Set<SpanContext> linked = new HashSet<>();
        for (Active member : members) {
            Span request = Span.fromContext(member.trace);
            SpanContext span = request.getSpanContext();
            if (span.isValid() && !span.equals(leading) && linked.add(span)) {
                request.addLink(step);
            }
        }
    }

    /** Samples a sequence's next token and tells its listener; a finished or failed sequence leaves the batch. */
    private void sample(Active active, float[] logits) {
        Generation generation = active.generation;
        try {
            int step = active.generated;
            TokenMask mask = generation.policy().mask(step);
            if (step < generation.minTokens() && !generation.stopTokens().isEmpty()) {
                TokenMask policyMask = mask;
                mask = id -> !generation.stopTokens().contains(id) && policyMask.allowed(id);
            }
            int token = active.sampler.next(generation.policy().adjust(logits, step), mask);
            generation.policy().accept(token);
            active.generated++;
            metrics.generatedTokens.inc();
            long now = System.nanoTime();
            if (active.generated == 1) {
                metrics.firstToken((now - active.submittedNanos) / 1e9);
            } else {
                metrics.nextToken((now - active.lastTokenNanos) / 1e9);
            }
            active.lastTokenNanos = now;
            if (generation.stopTokens().contains(token)) {
                finish(active, FinishReason.STOP);
                return;
            }
            if (active.cancelled) {                              // cancelled during the step: no further call
                running.remove(active);
                release(active);
                metrics.cancelled.inc();
                return;
            }
            TokenLogprobs logprobs = generation.logprobs() >= 0 ? TokenLogprobs.of(logits, token, generation.logprobs()) : null;
            if (!generation.listener().onToken(token, logprobs)) {
                finish(active, FinishReason.STOP);
            } else if (active.generated == generation.maxTokens()) {
                finish(active, FinishReason.LENGTH);
            } else {
                active.lastToken = token;
            }
        } catch (RuntimeException e) {
            running.remove(active);
            release(active);
            active.fail(e);
        }
    }

    private void finish(Active active, FinishReason reason) {
        running.remove(active);
        release(active);
        metrics.finished.labelValues(reason.openAiName()).inc();
        metrics.finished((System.nanoTime() - active.submittedNanos) / 1e9, active.generation.prompt().length, active.generated);
        if (!active.cancelled) {
            active.generation.listener().onFinish(reason, active.generated);
        }
    }

    private void release(Active active) {
        if (active.sequence == null) {
            return;
        }
        try {
            model.release(active.sequence);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "freeing sequence " + active.sequence.id() + " failed: " + e.getMessage());
        }
        active.sequence = null;
    }

    private void shutDown() {
        List<Active> left;
        synchronized (lock) {
            stopped = true;
            left = new ArrayList<>(waiting);
            waiting.clear();
            metrics.waiting.set(0);
        }
        for (Active active : left) {
            active.fail(reject(RejectedException.Reason.DRAINING, "the server stopped before the request ran", Duration.ofSeconds(30)));
        }
        for (Active active : List.copyOf(running)) {
            running.remove(active);
            release(active);
            active.fail(new IllegalStateException("the server stopped while the request ran"));
        }
        for (Active active : admitting) {
            try {
                active.admitted.get(30, java.util.concurrent.TimeUnit.SECONDS);   // its sequence is then placed: free it
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // admitted nowhere, or too slow to wait for: release below forgets it
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            release(active);
            active.fail(new IllegalStateException("the server stopped while the request was admitted"));
        }
        admitting.clear();
        metrics.running.set(0);
        metrics.admitting.set(0);
    }

    /** One generation's state in the scheduler. */
    private final class Active implements Handle {

        final Generation generation;
        final long submittedNanos;
        final Context trace;
        private Span queued;
        volatile boolean cancelled;
        Sequence sequence;
        SequenceSampler sampler;
        java.util.concurrent.CompletableFuture<Integer> admitted;   // how many prompt tokens admission found cached
        int prefilled;
        int generated;
        int lastToken;
        long lastTokenNanos;

        Active(Generation generation, long submittedNanos, Context trace, Span queued) {
            this.generation = generation;
            this.submittedNanos = submittedNanos;
            this.trace = trace;
            this.queued = queued;
        }

        /** Ends the queue span, failed by {@code rejected} when it is not null; returns {@code rejected}. */
        RejectedException leaveQueue(RejectedException rejected) {
            if (queued != null) {
                if (rejected != null) {
                    RouterSpans.failed(queued, rejected);
                }
                queued.end();
                queued = null;
            }
            return rejected;
        }

        boolean decoding() {
            return generated > 0;
        }

        @Override
        public void cancel() {
            cancelled = true;
            synchronized (lock) {
                lock.notifyAll();
            }
        }

        void fail(RuntimeException error) {
            metrics.failed.inc();
            if (cancelled) {
                return;
            }
            try {
                generation.listener().onError(error);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "a listener failed on an error: " + e.getMessage());
            }
        }
    }
}
