package io.moefleet.expert.impl;

import com.google.protobuf.ByteString;
import io.moefleet.expert.HeldExperts;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.VectorSupport;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.LocalExperts;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.MlpWeights;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.rpc.FloatRows;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Objects;
import java.util.Set;

/**
 * One shard's routed experts, bound from the checkpoint (only their bytes are read: copied onto huge pages, or mapped),
 * computed with the engine's own {@link LocalExperts} on a fixed pool of workers. The set held can change while the
 * shard serves ({@link #hold}); the checkpoint stays open for the shard's life, and each change's copies are freed once
 * the shard holds none of the experts it added.
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
    /** [layer][expert]: the memory each held expert's copies live in, the change's that added it (guarded by changing). */
    private Arena[][] memoryOf;
    /** Every change's memory still open: each serves at least one held expert (guarded by changing). */
    private final Set<Arena> memories = Collections.newSetFromMap(new IdentityHashMap<>());
    private boolean closed;   // guarded by changing

    private ShardExperts(int shard, Checkpoint checkpoint, Workers workers, MlpWeights[][] experts) {
        this.shard = shard;
        this.checkpoint = checkpoint;
        this.workers = workers;
        this.experts = experts;
        this.memoryOf = new Arena[experts.length][];
        for (int layer = 0; layer < experts.length; layer++) {
            memoryOf[layer] = experts[layer] == null ? null : new Arena[experts[layer].length];
        }
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
     * Holds {@code next} from now on: binds the experts newly needed (while calls go on), swaps the set under the lock
     * {@link #apply} holds (a call in flight finishes on the old set, the next one sees the new), and drops the experts
     * no longer held. The copies of a change's experts are freed once none of them is held: a shard whose placement
     * moves back and forth does not grow.
     */
    public void hold(HeldExperts next) {
        synchronized (changing) {
            if (closed) {
                throw new IllegalStateException("expert shard " + shard + " is closed; it cannot change the experts it holds");
            }
            long start = System.nanoTime();
            MlpWeights[][] current = experts;
            Arena memory = Arena.ofShared();
            MlpWeights[][] added;
            try {
                added = ModelWeights.loadExperts(checkpoint,
                        (layer, e) -> next.holds(layer, e) && current[layer][e] == null, memory);
            } catch (RuntimeException e) {
                memory.close();
                throw e;
            }
            memories.add(memory);
            MlpWeights[][] updated = new MlpWeights[current.length][];
            Arena[][] updatedMemory = new Arena[current.length][];
            int adding = 0;
            int dropping = 0;
            int holding = 0;
            for (int layer = 0; layer < current.length; layer++) {
                if (current[layer] == null) {
                    continue;
                }
                updated[layer] = new MlpWeights[current[layer].length];
                updatedMemory[layer] = new Arena[current[layer].length];
                for (int e = 0; e < current[layer].length; e++) {
                    if (next.holds(layer, e)) {
                        boolean adds = current[layer][e] == null;
                        updated[layer][e] = adds ? added[layer][e] : current[layer][e];
                        updatedMemory[layer][e] = adds ? memory : memoryOf[layer][e];
                        adding += adds ? 1 : 0;
                        holding++;
                    } else if (current[layer][e] != null) {
                        dropping++;
                    }
                }
            }
            synchronized (this) {
                experts = updated;
            }
            // from here no call reads the dropped experts (apply runs under this object's lock, on the new set)
            memoryOf = updatedMemory;
            Set<Arena> inUse = Collections.newSetFromMap(new IdentityHashMap<>());
            for (Arena[] layer : updatedMemory) {
                if (layer != null) {
                    Arrays.stream(layer).filter(Objects::nonNull).forEach(inUse::add);
                }
            }
            memories.removeIf(m -> {
                if (inUse.contains(m)) {
                    return false;
                }
                m.close();
                return true;
            });
            LOG.log(System.Logger.Level.INFO, "shard {0}: {1} routed expert(s) added, {2} dropped in {3} ms; "
                    + "{4} held over all MoE layers", shard, adding, dropping, (System.nanoTime() - start) / 1_000_000, holding);
        }
    }

    /** How many changes' copies the shard keeps in memory: each still serves at least one held expert. */
    int memoriesHeld() {
        synchronized (changing) {
            return memories.size();
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
     * Each chosen expert's output for its token, unweighted, in the order of the request: {@code chosen[0][0]} of
     * {@code xs[0]}, {@code chosen[0][1]} of {@code xs[0]}, ..., as one wire tensor. The router weights and adds them
     * ({@link LocalExperts#addWeighted}), so a token's sum does not depend on which shards computed its experts. One call at
     * a time: the workers and LocalExperts' buffers serve one product at a time.
     *
     * @throws ExpertNotHeldException when a token names an expert this shard does not hold (any more)
     */
    public synchronized ByteString apply(int layer, float[][] xs, int[][] chosen) {
        // checked again under the lock: the set may have changed since the request was decoded
        int picks = 0;
        for (int[] experts : chosen) {
            for (int expert : experts) {
                if (!holds(layer, expert)) {
                    throw new ExpertNotHeldException(layer, expert);
                }
                picks++;
            }
        }
        float[][][] byPick = compute.expertOutputs(layer, xs, xs.length, chosen);
        float[][] rows = new float[picks][];
        int row = 0;
        for (float[][] token : byPick) {
            for (float[] output : token) {
                rows[row++] = output;
            }
        }
        return FloatRows.encode(rows, picks, config().hiddenSize());   // a copy, made before the next call reuses the buffers
    }

    @Override
    public void close() {
        synchronized (changing) {
            closed = true;
            synchronized (this) {
                workers.close();
                memories.forEach(Arena::close);
                memories.clear();
                checkpoint.close();
            }
        }
    }
}
