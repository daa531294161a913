package io.moefleet.checkpoint;

/** What a weight is for; decides its random distribution and, per format, how it is stored. */
enum TensorRole {
    EMBEDDING,
    NORM,
    /** A decoder-layer linear other than a routed expert: attention, dense MLP, shared experts. */
    PROJECTION,
    /** A routed expert's gate, up or down projection. */
    EXPERT_PROJECTION,
    /** The MoE router's gate weight. */
    ROUTER,
    /** The router's {@code e_score_correction_bias}; float32 in every format, as released. */
    ROUTER_BIAS,
    LM_HEAD
}
