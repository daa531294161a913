package io.moefleet.attention.impl;

import io.grpc.Status;
import io.grpc.StatusException;
import io.moefleet.model.ModelConfig;
import io.moefleet.proto.attention.AttendRequest;
import io.moefleet.proto.attention.Chunk;
import io.moefleet.rpc.FloatRows;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** An Attend request checked against the model and decoded: the layer, the chunks, and their token rows in chunk order. */
public record AttendBatch(int layer, long stepId, List<ChunkSpan> chunks, float[][] rows) {

    /** Decodes {@code request}; anything malformed is INVALID_ARGUMENT naming what is wrong. */
    public static AttendBatch decode(AttendRequest request, ModelConfig config) throws StatusException {
        int layer = request.getLayer();
        if (layer < 0 || layer >= config.numHiddenLayers()) {   // negative: a uint32 past Integer.MAX_VALUE
            throw invalid("layer " + Integer.toUnsignedString(layer) + " is outside the model's " + config.numHiddenLayers() + " layers");
        }
        int hidden = config.hiddenSize();
        if (request.getHiddenSize() != hidden) {
            throw invalid("hidden_size " + request.getHiddenSize() + " differs from the model's " + hidden);
        }
        if (request.getChunksCount() == 0) {
            throw invalid("no chunks");
        }
        List<ChunkSpan> chunks = new ArrayList<>(request.getChunksCount());
        Set<Long> seen = new HashSet<>();
        long total = 0;
        for (Chunk chunk : request.getChunksList()) {
            String which = "chunk of sequence " + Long.toUnsignedString(chunk.getSequenceId());
            if (!seen.add(chunk.getSequenceId())) {
                throw invalid("sequence " + Long.toUnsignedString(chunk.getSequenceId()) + " appears twice in one call");
            }
            long end = Integer.toUnsignedLong(chunk.getStart()) + chunk.getTokenIdsCount();
            if (chunk.getTokenIdsCount() == 0) {
                throw invalid(which + " has no tokens");
            }
            if (end > config.maxPositionEmbeddings()) {
                throw invalid(which + " ends at position " + end + ", past the context of " + config.maxPositionEmbeddings() + " tokens");
            }
            chunks.add(new ChunkSpan(chunk.getSequenceId(), chunk.getStart(), tokenIds(chunk.getTokenIdsList())));
            total += chunk.getTokenIdsCount();
        }
        long expected = FloatRows.byteSize(Math.toIntExact(total), hidden);
        if (request.getHiddenStates().size() != expected) {
            throw invalid("hidden_states holds " + request.getHiddenStates().size() + " bytes; " + total + " tokens x " + hidden
                    + " float32 need " + expected);
        }
        return new AttendBatch(layer, request.getStepId(), List.copyOf(chunks),
                FloatRows.decode(request.getHiddenStates(), (int) total, hidden));
    }

    /** Token ids as ints: a uint32 past Integer.MAX_VALUE stays negative, and only ever feeds a page key. */
    public static int[] tokenIds(List<Integer> ids) {
        int[] tokens = new int[ids.size()];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = ids.get(i);
        }
        return tokens;
    }

    private static StatusException invalid(String description) {
        return Status.INVALID_ARGUMENT.withDescription(description).asException();
    }
}
