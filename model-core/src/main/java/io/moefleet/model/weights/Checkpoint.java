package io.moefleet.model.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.model.CheckpointException;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.safetensors.SafetensorsFile;
import io.moefleet.model.safetensors.TensorInfo;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A checkpoint directory in the Hugging Face layout: {@code config.json} and {@code model.safetensors}, or shards listed in
 * {@code model.safetensors.index.json}. Tensors are memory-mapped; the weight matrices a model binds are copied onto huge
 * pages where the system has them ({@link #resident}); names are those of the text model
 * ({@code language_model.} stripped), and tensors the text model does not use are skipped.
 */
public final class Checkpoint implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Checkpoint.class.getName());
    private static final String INDEX = "model.safetensors.index.json";
    private static final String SINGLE = "model.safetensors";
    private static final String WRAPPER_PREFIX = "language_model.";
    private static final Pattern LAYER = Pattern.compile("^model\\.layers\\.(\\d+)\\.");

    private final Path directory;
    private final ModelConfig config;
    private final Arena arena;
    private final Map<String, TensorInfo> tensors;
    private final Optional<HugePageMemory> hugePages;   // maps nothing until the first copy

    private Checkpoint(Path directory, ModelConfig config, Arena arena, Map<String, TensorInfo> tensors) {
        this.directory = directory;
        this.config = config;
        this.arena = arena;
        this.tensors = tensors;
        this.hugePages = HugePageMemory.open(arena);
    }

    public static Checkpoint open(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new CheckpointException("checkpoint directory " + directory + " does not exist");
        }
        ModelConfig config = ModelConfig.read(directory.resolve("config.json"));
        Arena arena = Arena.ofShared();
        try {
            Map<String, TensorInfo> raw = Files.exists(directory.resolve(INDEX))
                    ? readSharded(directory, arena)
                    : readSingle(directory, arena);
            return new Checkpoint(directory, config, arena, textModelTensors(raw, config));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path directory() {
        return directory;
    }

    public ModelConfig config() {
        return config;
    }

    public Optional<TensorInfo> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The tensor, or an error naming it: a checkpoint that lacks a tensor the model needs cannot run. */
    public TensorInfo tensor(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new CheckpointException(directory + ": missing tensor '" + name + "'");
        }
        return t;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /**
     * A weight matrix's bytes where the kernels read them fastest: copied onto huge pages ({@link HugePageMemory}) where
     * the system has them and the process's memory limit has room beside its heap's ceiling, else the file's mapping,
     * paged in now (a large checkpoint's load is disk-bound; doing it now keeps the first token fast). Only what is
     * bound gets copied: a shard copies its own experts. Freed by {@link #close}.
     */
    public synchronized MemorySegment resident(TensorInfo t) {
        return resident(t, hugePages);
    }

    /**
     * As {@link #resident}, the copies freed when {@code memory} closes rather than with the checkpoint: for weights a
     * process drops while it goes on serving (an expert shard's experts, when its placement changes), whose copies
     * would otherwise stay until the checkpoint closes. Closing {@code memory} is the caller's, once nothing reads them.
     */
    public Function<TensorInfo, MemorySegment> residentIn(Arena memory) {
        Optional<HugePageMemory> pages = HugePageMemory.open(memory);
        return t -> {
            synchronized (this) {
                return resident(t, pages);
            }
        };
    }

    private MemorySegment resident(TensorInfo t, Optional<HugePageMemory> pages) {
        if (pages.isPresent() && t.data().byteSize() > 0 && HugePageMemory.hasRoomFor(t.data().byteSize())) {
            MemorySegment copy = pages.get().copyOf(t.data());
            if (t.data().isMapped()) {
                t.data().unload();   // the file's pages stay cached but leave this process's resident memory
            }
            return copy;
        }
        if (t.data().isMapped()) {
            t.data().load();
        }
        return t.data();
    }

    /** Unmaps every file and frees the copies. Tensors read after this fault, so close only when no computation uses them. */
    @Override
    public void close() {
        arena.close();
    }

    private static Map<String, TensorInfo> readSingle(Path directory, Arena arena) {
        Path file = directory.resolve(SINGLE);
        if (!Files.exists(file)) {
            throw new CheckpointException(directory + ": neither " + SINGLE + " nor " + INDEX + " is there");
        }
        return SafetensorsFile.open(file, arena).tensors();
    }

    private static Map<String, TensorInfo> readSharded(Path directory, Arena arena) {
        Path indexFile = directory.resolve(INDEX);
        JsonNode weightMap;
        try {
            weightMap = new ObjectMapper().readTree(Files.readString(indexFile)).get("weight_map");
        } catch (IOException e) {
            throw new CheckpointException(indexFile + " is not valid JSON: " + e.getMessage(), e);
        }
        if (weightMap == null || !weightMap.isObject()) {
            throw new CheckpointException(indexFile + ": no weight_map object");
        }
        Map<String, List<String>> namesByFile = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String file = e.getValue().asText();
            if (file.isEmpty() || file.contains("/") || file.contains("\\")) {
                throw new CheckpointException(indexFile + ": tensor '" + e.getKey() + "' maps to an invalid file name '" + file + "'");
            }
            namesByFile.computeIfAbsent(file, f -> new ArrayList<>()).add(e.getKey());
        }
        for (Map.Entry<String, List<String>> e : namesByFile.entrySet()) {
            if (!Files.exists(directory.resolve(e.getKey()))) {
                throw new CheckpointException(directory + ": missing shard " + e.getKey() + ", which " + INDEX + " names for "
                        + e.getValue().size() + " tensors (e.g. '" + e.getValue().getFirst() + "')");
            }
        }
        Map<String, TensorInfo> all = new LinkedHashMap<>();
        for (Map.Entry<String, List<String>> e : namesByFile.entrySet()) {
            Map<String, TensorInfo> shard = SafetensorsFile.open(directory.resolve(e.getKey()), arena).tensors();
            for (String name : e.getValue()) {
                TensorInfo t = shard.get(name);
                if (t == null) {
                    throw new CheckpointException(directory + ": " + INDEX + " puts tensor '" + name + "' in " + e.getKey()
                            + ", which does not contain it");
                }
                all.put(name, t);
            }
        }
        return all;
    }

    /** Strips the multimodal wrapper prefix and drops what the text model does not use (MTP layers, vision tower). */
    private static Map<String, TensorInfo> textModelTensors(Map<String, TensorInfo> raw, ModelConfig config) {
        Map<String, TensorInfo> kept = new LinkedHashMap<>();
        List<String> skipped = new ArrayList<>();
        for (Map.Entry<String, TensorInfo> e : raw.entrySet()) {
            String name = e.getKey().startsWith(WRAPPER_PREFIX) ? e.getKey().substring(WRAPPER_PREFIX.length()) : e.getKey();
            if (!usedByTextModel(name, config)) {
                skipped.add(e.getKey());
                continue;
            }
            if (kept.put(name, e.getValue()) != null) {
                throw new CheckpointException("tensor '" + name + "' appears twice (with and without the '" + WRAPPER_PREFIX + "' prefix?)");
            }
        }
        if (!skipped.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, "skipped {0} tensors the text model does not use (MTP layers past num_hidden_layers, "
                    + "vision tower, projector), e.g. {1}", skipped.size(), skipped.getFirst());
        }
        return kept;
    }

    private static boolean usedByTextModel(String name, ModelConfig config) {
        Matcher m = LAYER.matcher(name);
        if (m.find()) {
            String index = m.group(1);
            return index.length() < 10 && Integer.parseInt(index) < config.numHiddenLayers();
        }
        return name.startsWith("model.embed_tokens.") || name.startsWith("model.norm.") || name.startsWith("lm_head.");
    }
}
