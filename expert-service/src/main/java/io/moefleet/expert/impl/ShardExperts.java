package io.moefleet.expert.impl;

import io.moefleet.expert.HeldExperts;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.VectorSupport;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.LocalExperts;
import io.moefleet.model.forward.Routing;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.MlpWeights;
import io.moefleet.model.weights.ModelWeights;
import java.nio.file.Path;

/**
 * One shard's routed experts, mapped from the checkpoint (only their bytes are bound and paged in), computed with the
 * engine's own {@link LocalExperts} on a fixed pool of workers. The set held can change while the shard serves
 * ({@link #hold}); the checkpoint stays open for the shard's life.
 */
public final class ShardExperts implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ShardExperts.class.getName());

    private final int shard;
    private final Checkpoint checkpoint;
    private final Workers workers;
    private final LocalExperts compute;
    /** One change at a time, and none once closed: a change reads the checkpoint. */
    private final Object changing = new Object();
    /** [layer][expert], null where not held (and for dense layers); replaced whole, under this object's lock, never edited. */
    private volatile MlpWeights[][] experts;
    private boolean closed;   // guarded by changing

    private ShardExperts(int shard, Checkpoint checkpoint, Workers workers, MlpWeights[][] experts) {
        this.shard = shard;
        this.checkpoint = checkpoint;
        this.workers = workers;
        this.experts = experts;
        this.compute = new LocalExperts(layer -> this.experts[layer], checkpoint.config().hiddenSize(), new MatMul(workers));
    }

    /** Opens the checkpoint in {@code model} for {@code shard}, holding no experts yet ({@link #hold} maps them). */
    public static ShardExperts open(Path model, int shard, int threads) {
        String vectors = VectorSupport.check();
        Checkpoint checkpoint = Checkpoint.open(model);
        try {
            // an empty array per MoE layer, null for dense ones: the shape every later change keeps
            MlpWeights[][] none = ModelWeights.loadExperts(checkpoint, (layer, e) -> false, ModelWeights.LoadProgress.NONE);
            LOG.log(System.Logger.Level.INFO, "shard {0}: opened {1}; {2} thread(s), {3}", shard, model, threads, vectors);
            return new ShardExperts(shard, checkpoint, new Workers(threads), none);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return checkpoint.config();
    }

    /**
     * Holds {@code next} from now on: maps the experts newly needed (while calls go on), swaps the set under the lock
     * {@link #apply} holds (a call in flight finishes on the old set, the next one sees the new), and drops the experts
     * no longer held. Their bytes stay mapped with the whole checkpoint file, as clean pages the kernel reclaims.
     */
    public void hold(HeldExperts next) {
        synchronized (changing) {
            if (closed) {
                throw new IllegalStateException("expert shard " + shard + " is closed; it cannot change the experts it holds");
            }
            long start = System.nanoTime();
            MlpWeights[][] current = experts;
            MlpWeights[][] added = ModelWeights.loadExperts(checkpoint,
                    (layer, e) -> next.holds(layer, e) && current[layer][e] == null, ModelWeights.LoadProgress.NONE);
            MlpWeights[][] updated = new MlpWeights[current.length][];
            int adding = 0;
            int dropping = 0;
            int holding = 0;
            for (int layer = 0; layer < current.length; layer++) {
                if (current[layer] == null) {
                    continue;
                }
                updated[layer] = new MlpWeights[current[layer].length];
                for (int e = 0; e < current[layer].length; e++) {
                    if (next.holds(layer, e)) {
                        updated[layer][e] = current[layer][e] != null ? current[layer][e] : added[layer][e];
                        adding += current[layer][e] == null ? 1 : 0;
                        holding++;
                    } else if (current[layer][e] != null) {
                        dropping++;
                    }
                }
            }
            synchronized (this) {
                experts = updated;
            }
            LOG.log(System.Logger.Level.INFO, "shard {0}: {1} routed expert(s) added, {2} dropped in {3} ms; "
                    + "{4} held over all MoE layers", shard, adding, dropping, (System.nanoTime() - start) / 1_000_000, holding);
        }
    }

    /** Whether {@code layer} is an MoE layer and this shard holds its {@code expert} now. */
    public boolean holds(int layer, int expert) {
        return holds(experts, layer, expert);
    }

    /** What this shard holds now, fixed: a change made later does not show in it. */
    public ModelWeights.ExpertSelection heldNow() {
        MlpWeights[][] now = experts;
        return (layer, expert) -> holds(now, layer, expert);
    }

    private static boolean holds(MlpWeights[][] experts, int layer, int expert) {
        return layer >= 0 && layer < experts.length && experts[layer] != null
                && expert >= 0 && expert < experts[layer].length && experts[layer][expert] != null;
    }

    /**
     * Each token's {@code Σ w·E(x)} over its routing, summed in expert-index order. One call at a time: the workers
     * and LocalExperts' buffers serve one product at a time.
     *
     * @throws ExpertNotHeldException when a routing names an expert this shard does not hold (any more)
     */
    public synchronized float[][] apply(int layer, float[][] xs, Routing[] routings) {
        // checked again under the lock: the set may have changed since the request was decoded
        for (Routing routing : routings) {
            for (int expert : routing.experts()) {
                if (!holds(layer, expert)) {
                    throw new ExpertNotHeldException(layer, expert);
                }
            }
        }
        float[][] sums = new float[xs.length][config().hiddenSize()];
        compute.dispatch(layer, xs, xs.length, routings).addInto(sums);
        return sums;
    }

    @Override
    public void close() {
        synchronized (changing) {
            closed = true;
            synchronized (this) {
                workers.close();
                checkpoint.close();
            }
        }
    }
}
