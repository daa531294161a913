package io.moefleet.model.forward;

/**
 * Where a MoE layer's routed experts run: in this process ({@link LocalExperts}) or on expert shards across the network.
 * The step routes every token first, then hands this backend the whole batch of one layer at once, so a remote backend
 * makes one call per shard per layer per step, never one per token. The call is split in two, {@link #dispatch} and
 * {@link Combine#addInto}, so that the step can compute the shared experts while remote shards work on the routed ones.
 */
public interface ExpertBackend {

    /**
     * Starts the routed experts of {@code layer} for tokens {@code t < n}; the caller must leave {@code xs} and
     * {@code routings} unchanged until it has combined the result. A backend computing in this process may do all
     * the work in {@link Combine#addInto}.
     */
    Combine dispatch(int layer, float[][] xs, int n, Routing[] routings);

    /** The routed experts' outputs of one dispatch, added where the step wants them; used once. */
    @FunctionalInterface
    interface Combine {

        /**
         * Adds each token's routed-expert output to {@code out[t]}: {@code Σ_k w_k · E_k(xs[t])} over the token's
         * routing, waiting for it if need be. The shared experts are not part of it.
         */
        void addInto(float[][] out);
    }
}
