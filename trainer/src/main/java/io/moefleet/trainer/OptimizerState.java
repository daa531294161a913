package io.moefleet.trainer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.model.safetensors.SafetensorsFile;
import io.moefleet.model.safetensors.TensorInfo;
import io.moefleet.model.weights.FloatCodec;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a checkpoint folder needs beside the weights to resume training exactly: {@code optimizer.safetensors} (Muon's
 * momenta, AdamW's moments and step counts, one F32 vector per parameter and kind) and {@code trainer_state.json}
 * (the steps taken, the method). The routers' correction biases are weights: the checkpoint holds them.
 */
public final class OptimizerState {

    public static final String TENSORS = "optimizer.safetensors";
    public static final String STATE = "trainer_state.json";

    private OptimizerState() {}

    public static void save(Optimizer optimizer, TrainingModel model, int steps, Path directory) throws IOException {
        CheckpointWriter.writeF32(directory.resolve(TENSORS), optimizer.state(model));
        ObjectNode state = new ObjectMapper().createObjectNode();
        state.put("steps", steps);
        state.put("optimizer", optimizer.method().name().toLowerCase(java.util.Locale.ROOT));
        Files.writeString(directory.resolve(STATE), state.toPrettyString() + "\n");
    }

    /** Restores the optimiser's state from {@code directory}; returns the steps taken before it was saved. */
    public static int load(Optimizer optimizer, TrainingModel model, Path directory) throws IOException {
        ObjectNode state = (ObjectNode) new ObjectMapper().readTree(directory.resolve(STATE).toFile());
        String method = optimizer.method().name().toLowerCase(java.util.Locale.ROOT);
        if (!state.path("optimizer").asText().equals(method)) {
            throw new IllegalArgumentException(directory + " was trained with " + state.path("optimizer").asText()
                    + ", not " + method);
        }
        Map<String, float[]> tensors = new LinkedHashMap<>();
        try (Arena arena = Arena.ofConfined()) {
            for (TensorInfo t : SafetensorsFile.open(directory.resolve(TENSORS), arena).tensors().values()) {
                float[] values = new float[Math.toIntExact(t.elementCount())];
                MemorySegment.copy(t.data(), FloatCodec.FLOAT_LE, 0, values, 0, values.length);
                tensors.put(t.name(), values);
            }
        }
        optimizer.restore(model, tensors);
        return state.path("steps").asInt();
    }
}
