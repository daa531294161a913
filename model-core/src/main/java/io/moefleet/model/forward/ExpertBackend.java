package io.moefleet.model.forward;

/**
 * Where a MoE layer's routed experts run: in this process ({@link LocalExperts}) or on expert shards across the network.
 * The step routes every token first, then hands this backend the whole batch of one layer at once, so a remote backend
 * makes one call per shard per layer per step, never one per token.
 */
public interface ExpertBackend {

    /**
     * Adds each token's routed-expert output to {@code out[t]}: {@code Σ_k w_k · E_k(xs[t])} over the token's routing,
     * for {@code t < n}. The shared experts are not part of it.
     */
    void addRoutedExperts(int layer, float[][] xs, int n, Routing[] routings, float[][] out);
}
