package io.moefleet.attention.impl;

import io.moefleet.model.forward.StepChunk;
import io.moefleet.proto.attention.AttendRequest;
import io.moefleet.proto.attention.Chunk;
import io.moefleet.rpc.FloatRows;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The part of one layer of a step that goes to one attention instance: which of the step's token rows it gets, and the request. */
public record InstanceBatch(int instance, int[] rows, AttendRequest request) {

    /**
     * Splits a layer's chunks by the instance that holds each ({@code instanceOf[c]} for chunk c), in instance order,
     * leaving out instances with no chunk in this step.
     */
    public static List<InstanceBatch> split(List<StepChunk> chunks, int[] instanceOf, int instances, int layer, long step,
            float[][] normed, int hidden) {
        int total = 0;
        for (StepChunk chunk : chunks) {
            total += chunk.tokens().length;
        }
        List<InstanceBatch> batches = new ArrayList<>();
        for (int instance = 0; instance < instances; instance++) {
            AttendRequest.Builder request = AttendRequest.newBuilder().setLayer(layer).setStepId(step).setHiddenSize(hidden);
            int[] rows = new int[total];
            int row = 0;
            int count = 0;
            for (int c = 0; c < chunks.size(); c++) {
                StepChunk chunk = chunks.get(c);
                int n = chunk.tokens().length;
                if (instanceOf[c] == instance) {
                    Chunk.Builder part = Chunk.newBuilder().setSequenceId(chunk.sequence().id()).setStart(chunk.start());
                    for (int token : chunk.tokens()) {
                        part.addTokenIds(token);
                    }
                    request.addChunks(part);
                    for (int i = 0; i < n; i++) {
                        rows[count++] = row + i;
                    }
                }
                row += n;
            }
            if (count > 0) {
                int[] held = Arrays.copyOf(rows, count);
                batches.add(new InstanceBatch(instance, held, request.setHiddenStates(FloatRows.encode(normed, held, hidden)).build()));
            }
        }
        return batches;
    }
}
