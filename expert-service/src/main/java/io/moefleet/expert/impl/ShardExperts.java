package io.moefleet.expert.impl;

import io.moefleet.expert.ExpertPlacement;
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
import java.util.Arrays;
import java.util.Objects;

/**
 * One shard's routed experts, mapped from the checkpoint (only their bytes are bound and paged in), computed with the
 * engine's own {@link LocalExperts} on a fixed pool of workers.
 */
public final class ShardExperts implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ShardExperts.class.getName());

    private final Checkpoint checkpoint;
    private final Workers workers;
    private final MlpWeights[][] experts;
    private final LocalExperts compute;

    private ShardExperts(Checkpoint checkpoint, Workers workers, MlpWeights[][] experts) {
        this.checkpoint = checkpoint;
        this.workers = workers;
        this.experts = experts;
        this.compute = new LocalExperts(layer -> experts[layer], checkpoint.config().hiddenSize(), new MatMul(workers));
    }

    /** Maps the experts {@code placement} gives {@code shard} from the checkpoint in {@code model}. */
    public static ShardExperts load(Path model, ExpertPlacement placement, int shard, int threads) {
        String vectors = VectorSupport.check();
        Checkpoint checkpoint = Checkpoint.open(model);
        try {
            placement.checkAgainst(checkpoint.config());
            long start = System.nanoTime();
            MlpWeights[][] experts = ModelWeights.loadExperts(checkpoint, (layer, e) -> placement.holds(shard, layer, e),
                    ModelWeights.LoadProgress.NONE);
            long held = Arrays.stream(experts).filter(Objects::nonNull).flatMap(Arrays::stream).filter(Objects::nonNull).count();
            LOG.log(System.Logger.Level.INFO, "shard {0}: {1} routed expert(s) over all MoE layers mapped in {2} ms; {3} thread(s), {4}",
                    shard, held, (System.nanoTime() - start) / 1_000_000, threads, vectors);
            return new ShardExperts(checkpoint, new Workers(threads), experts);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return checkpoint.config();
    }

    /** Whether {@code layer} is an MoE layer and this shard holds its {@code expert}. */
    public boolean holds(int layer, int expert) {
        return experts[layer] != null && experts[layer][expert] != null;
    }

    /**
     * Each token's {@code Σ w·E(x)} over its routing, summed in expert-index order. One call at a time: the workers
     * and LocalExperts' buffers serve one product at a time.
     */
    public synchronized float[][] apply(int layer, float[][] xs, Routing[] routings) {
        float[][] sums = new float[xs.length][config().hiddenSize()];
        compute.dispatch(layer, xs, xs.length, routings).addInto(sums);
        return sums;
    }

    @Override
    public synchronized void close() {
        workers.close();
        checkpoint.close();
    }
}
