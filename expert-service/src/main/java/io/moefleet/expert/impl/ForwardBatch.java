package io.moefleet.expert.impl;

import io.grpc.Status;
import io.grpc.StatusException;
import io.moefleet.model.ModelConfig;
import io.moefleet.proto.expert.ForwardRequest;
import io.moefleet.proto.expert.TokenExperts;
import io.moefleet.rpc.FloatRows;

/** A Forward request checked against the shard and decoded: the token rows and, per row, the experts to apply here. */
public record ForwardBatch(int layer, float[][] rows, int[][] experts) {

    /**
     * Decodes {@code request}; a malformed request is INVALID_ARGUMENT, an expert this shard does not hold
     * FAILED_PRECONDITION (the router's placement disagrees with the shard's).
     */
    public static ForwardBatch decode(ForwardRequest request, int shard, ShardExperts experts) throws StatusException {
        ModelConfig config = experts.config();
        int layer = request.getLayer();
        if (layer >= config.numHiddenLayers() || !config.isMoeLayer(layer)) {
            throw invalid("layer " + layer + " is not an MoE layer of the model");
        }
        int hidden = config.hiddenSize();
        if (request.getHiddenSize() != hidden) {
            throw invalid("hidden_size " + request.getHiddenSize() + " differs from the model's " + hidden);
        }
        int n = request.getTokensCount();
        long expected = FloatRows.byteSize(n, hidden);
        if (request.getHiddenStates().size() != expected) {
            throw invalid("hidden_states holds " + request.getHiddenStates().size() + " bytes; " + n + " tokens x " + hidden
                    + " float32 need " + expected);
        }
        int[][] chosen = new int[n][];
        for (int t = 0; t < n; t++) {
            TokenExperts token = request.getTokens(t);
            if (token.getExpertsCount() == 0) {
                throw invalid("token row " + t + " names no expert");
            }
            chosen[t] = new int[token.getExpertsCount()];
            for (int k = 0; k < chosen[t].length; k++) {
                int expert = token.getExperts(k);
                if (expert < 0 || expert >= config.nRoutedExperts()) {   // negative: a uint32 past Integer.MAX_VALUE
                    throw invalid("token row " + t + ": expert " + Integer.toUnsignedString(expert) + " is outside the model's "
                            + config.nRoutedExperts() + " routed experts");
                }
                for (int j = 0; j < k; j++) {
                    if (chosen[t][j] == expert) {
                        throw invalid("token row " + t + " names expert " + expert + " twice");
                    }
                }
                if (!experts.holds(layer, expert)) {
                    throw notHeld(shard, layer, expert);
                }
                chosen[t][k] = expert;
            }
        }
        return new ForwardBatch(layer, FloatRows.decode(request.getHiddenStates(), n, hidden), chosen);
    }

    /** FAILED_PRECONDITION for a call naming an expert {@code shard} does not hold (now: what it holds changes over time). */
    public static StatusException notHeld(int shard, int layer, int expert) {
        return Status.FAILED_PRECONDITION.withDescription("shard " + shard + " does not hold layer " + layer + " expert " + expert
                + ": the router's placement differs from what this shard holds now").asException();
    }

    private static StatusException invalid(String description) {
        return Status.INVALID_ARGUMENT.withDescription(description).asException();
    }
}
