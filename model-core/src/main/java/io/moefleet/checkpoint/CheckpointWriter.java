package io.moefleet.checkpoint;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Writes deterministic random checkpoints in the Hugging Face Kimi K2 layout: {@code config.json},
 * safetensors weights (sharded with an index beyond {@value #SHARD_BYTES} bytes), {@code tiktoken.model},
 * {@code tokenizer_config.json} and {@code generation_config.json}.
 *
 * <p>Every weight is drawn from its own stream seeded by (seed, tensor name), so a checkpoint is a pure
 * function of (config, seed, format), and the formats of one seed hold the same model up to rounding.
 * Tensors are generated and written in row bands, so memory stays flat whatever the model size. A trained model's
 * weights are written the same way from its own values ({@link #write(ObjectNode, TensorValues, WeightFormat, Path)}).
 */
public final class CheckpointWriter {
    static final long SHARD_BYTES = 1L << 30;
    static final String CONFIG_FILE = "config.json";
    static final String GENERATION_CONFIG_FILE = "generation_config.json";

    /** Weight files a previous write may have left, which would otherwise mix with the new ones. */
    private static final Pattern WEIGHT_FILE = Pattern.compile(
            "model\\.safetensors|model-\\d{5}-of-\\d{5}\\.safetensors|model\\.safetensors\\.index\\.json");

    private CheckpointWriter() {
    }

    /**
     * Writes a complete checkpoint into {@code out} (created if missing). With FP8 or INT4 it also writes the
     * dequantised F32 twin (the exact float values the stored weights decode to, every tensor F32, no
     * quantization_config) into {@link #twinDirectory(Path)}. Returns the directories written (out first, then
     * the twin if any). Logs progress to System.err only.
     */
    public static List<Path> write(ObjectNode config, long seed, WeightFormat format, Path out) throws IOException {
        return write(config, seed, format, out, format == WeightFormat.FP8 || format == WeightFormat.INT4, SHARD_BYTES);
    }

    /** As {@link #write(ObjectNode, long, WeightFormat, Path)}, with the F32 twin for every format but F32 (BF16 included). */
    public static List<Path> writeWithTwin(ObjectNode config, long seed, WeightFormat format, Path out) throws IOException {
        return write(config, seed, format, out, format != WeightFormat.F32, SHARD_BYTES);
    }

    /** The dequantised twin of {@code out}: the sibling directory {@code <name>-f32}. */
    public static Path twinDirectory(Path out) {
        return out.resolveSibling(out.getFileName() + "-f32");
    }

    /** Writes the checkpoint and, when {@code twin}, its F32 twin, sharding beyond {@code shardBytes}. */
    static List<Path> write(ObjectNode config, long seed, WeightFormat format, Path out, boolean twin, long shardBytes)
            throws IOException {
        return write(config, spec -> new WeightSampler(seed, spec)::next, format, out, twin, shardBytes);
    }

    /** The values of one tensor, row-major [rows][cols], by its Hugging Face name. */
    @FunctionalInterface
    public interface TensorValues {
        float[] of(String name);
    }

    /**
     * Writes a checkpoint of given weights (a trained model's) in the same layout and formats: every tensor the
     * config implies must be in {@code values}, with as many values as its shape. No twin. Returns {@code out}.
     */
    public static Path write(ObjectNode config, TensorValues values, WeightFormat format, Path out) throws IOException {
        write(config, spec -> stored(spec, values.of(spec.name())), format, out, false, SHARD_BYTES);
        return out;
    }

    /**
     * A safetensors file of one-dimensional F32 tensors, in the map's order: state kept beside a checkpoint (a
     * trainer's optimiser moments), readable with {@code SafetensorsFile}.
     */
    public static void writeF32(Path file, java.util.Map<String, float[]> tensors) throws IOException {
        List<StoredTensor> entries = new ArrayList<>();
        tensors.forEach((name, values) -> entries.add(new StoredTensor(name, Dtype.F32, values.length)));
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            TensorOutput out = new TensorOutput(channel);
            byte[] header = SafetensorsHeader.encode(entries);
            out.putBytes(header, 0, header.length);
            for (float[] values : tensors.values()) {
                out.putFloats(values, 0, values.length);
            }
            out.flush();
        }
    }

    /** Fills the next {@code count} values of a tensor, row-major. */
    @FunctionalInterface
    interface ValueStream {
        void next(float[] values, int count);
    }

    private static ValueStream stored(TensorSpec spec, float[] tensor) {
        if (tensor == null || tensor.length != spec.rows() * spec.cols()) {
            throw new IllegalArgumentException(spec.name() + ": expected " + spec.rows() * spec.cols() + " values, got "
                    + (tensor == null ? "none" : tensor.length));
        }
        int[] next = {0};
        return (values, count) -> {
            System.arraycopy(tensor, next[0], values, 0, count);
            next[0] += count;
        };
    }

    private static List<Path> write(ObjectNode config, Function<TensorSpec, ValueStream> source,
            WeightFormat format, Path out, boolean twin, long shardBytes) throws IOException {
        ModelDims dims = ModelDims.of(config);
        QuantizationSettings quantization = QuantizationSettings.of(config);
        List<TensorSpec> specs = TensorLayout.of(dims);
        List<Path> written = new ArrayList<>();
        writeCheckpoint(writtenConfig(config, format, quantization), dims, specs, source,
                StoragePolicy.stored(format, quantization), out, shardBytes);
        written.add(out);
        if (twin && format != WeightFormat.F32) {
            Path twinDir = twinDirectory(out);
            writeCheckpoint(writtenConfig(config, WeightFormat.F32, quantization), dims, specs, source,
                    StoragePolicy.dequantisedTwin(format, quantization), twinDir, shardBytes);
            written.add(twinDir);
        }
        return List.copyOf(written);
    }

    private static void writeCheckpoint(ObjectNode config, ModelDims dims, List<TensorSpec> specs,
            Function<TensorSpec, ValueStream> source, StoragePolicy policy, Path dir, long shardBytes) throws IOException {
        long start = System.nanoTime();
        Files.createDirectories(dir);
        removeOldWeights(dir);
        ShardPlan plan = ShardPlan.of(specs, policy, shardBytes);
        log("writing %s: %d tensors, %s in %d file(s)", dir, specs.size(), gib(plan.totalBytes()), plan.shards().size());
        float[] scratch = new float[0];
        for (ShardPlan.Shard shard : plan.shards()) {
            scratch = writeShard(dir.resolve(shard.fileName()), shard, source, policy, scratch);
        }
        if (plan.sharded()) {
            JsonFiles.write(dir.resolve(ShardPlan.INDEX_FILE), plan.index());
        }
        JsonFiles.write(dir.resolve(CONFIG_FILE), config);
        TokenizerFiles.write(dir, dims.vocabSize(), dims.maxPositionEmbeddings());
        JsonFiles.write(dir.resolve(GENERATION_CONFIG_FILE),
                generationConfig(TokenizerFiles.firstSpecialId(dims.vocabSize()), dims.maxPositionEmbeddings()));
        log("wrote %s in %.1f s", dir, (System.nanoTime() - start) / 1e9);
    }

    /** Writes one safetensors file; returns the (possibly grown) band buffer for reuse. */
    private static float[] writeShard(Path file, ShardPlan.Shard shard, Function<TensorSpec, ValueStream> source,
            StoragePolicy policy, float[] scratch) throws IOException {
        log("  %s (%s)", file.getFileName(), gib(shard.bytes()));
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            TensorOutput out = new TensorOutput(channel);
            byte[] header = SafetensorsHeader.encode(shard.entries());
            out.putBytes(header, 0, header.length);
            long expectedEnd = header.length;
            for (ShardPlan.PlannedTensor tensor : shard.tensors()) {
                scratch = writeTensor(tensor.spec(), source.apply(tensor.spec()), policy.encoder(tensor.spec()), out, scratch);
                expectedEnd += tensor.bytes();
                if (out.position() != expectedEnd) { // an encoder disagreeing with its own entries() would corrupt the file
                    throw new IllegalStateException(tensor.spec().name() + ": wrote up to byte " + out.position()
                            + ", header says " + expectedEnd);
                }
            }
            out.flush();
        }
        return scratch;
    }

    private static float[] writeTensor(TensorSpec spec, ValueStream values, TensorEncoder encoder, TensorOutput out,
            float[] scratch) throws IOException {
        int cols = Math.toIntExact(spec.cols());
        long rows = spec.rows();
        int bandRows = (int) Math.min(encoder.bandRows(), rows);
        if (scratch.length < (long) bandRows * cols) {
            scratch = new float[Math.multiplyExact(bandRows, cols)];
        }
        for (long row = 0; row < rows; row += bandRows) {
            int n = (int) Math.min(bandRows, rows - row);
            values.next(scratch, n * cols);
            encoder.writeBand(scratch, n, out);
        }
        encoder.finish(out);
        return scratch;
    }

    /** The config.json to write: the given one with this tokenizer's ids and the format's quantization_config. */
    private static ObjectNode writtenConfig(ObjectNode given, WeightFormat format, QuantizationSettings quantization) {
        ObjectNode config = given.deepCopy();
        config.remove("quantization_config");
        config.remove(QuantizationSettings.INT4_GROUP_SIZE_KEY);
        int firstSpecial = TokenizerFiles.firstSpecialId(config.get("vocab_size").asInt());
        config.put("bos_token_id", firstSpecial + KimiSpecialTokens.BOS);
        config.put("eos_token_id", firstSpecial + KimiSpecialTokens.EOS);
        if (format == WeightFormat.F32) {
            config.put("torch_dtype", "float32");
        }
        ObjectNode quantizationConfig = quantization.quantizationConfig(format);
        if (quantizationConfig != null) {
            config.set("quantization_config", quantizationConfig);
        }
        return config;
    }

    /** Greedy by default; generation stops at {@code <|im_end|>} or {@code [EOS]}. */
    static ObjectNode generationConfig(int firstSpecialId, int maxPositions) {
        ObjectNode config = JsonNodeFactory.instance.objectNode();
        config.put("bos_token_id", firstSpecialId + KimiSpecialTokens.BOS);
        config.putArray("eos_token_id")
                .add(firstSpecialId + KimiSpecialTokens.IM_END)
                .add(firstSpecialId + KimiSpecialTokens.EOS);
        config.put("pad_token_id", firstSpecialId + KimiSpecialTokens.PAD);
        config.put("max_length", maxPositions);
        config.put("do_sample", false);
        return config;
    }

    private static void removeOldWeights(Path dir) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path file : files) {
                if (WEIGHT_FILE.matcher(file.getFileName().toString()).matches()) {
                    log("  removing old %s", file.getFileName());
                    Files.delete(file);
                }
            }
        }
    }

    private static String gib(long bytes) {
        return bytes >= 1 << 30 ? String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1 << 30))
                : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1 << 20));
    }

    private static void log(String format, Object... args) {
        System.err.println("checkpoint: " + String.format(Locale.ROOT, format, args));
    }
}
