package io.moefleet.kvcache;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The model id of page keys ({@link PageKeys}): it must name the weights and the numerics that made the latents, since
 * a latent depends on every weight before it. Reading a terabyte checkpoint whole at start is not an option, so the
 * id hashes what tells checkpoints apart cheaply: {@code config.json}, and for every {@code .safetensors} file its
 * name, size and header (every tensor's name, dtype, shape and offsets) and {@value #SAMPLES} windows of
 * {@value #WINDOW_BYTES} bytes spread over its data (two checkpoints of one architecture, e.g. two seeds or a
 * fine-tune, differ there). Equal directories give equal ids on every machine.
 */
public final class ModelIds {

    /** The fleet's numerics: every product in float32 over the checkpoint's own formats (no load-time q8). */
    public static final String FLOAT32 = "f32";

    private static final int SAMPLES = 16;
    private static final int WINDOW_BYTES = 4096;
    private static final long MAX_HEADER_BYTES = 100L << 20;   // safetensors' own limit

    private ModelIds() {
    }

    /** {@code ckpt-<24 hex digits>/<numerics>} for the checkpoint in {@code directory}. */
    public static String ofCheckpoint(Path directory, String numerics) {
        MessageDigest sha = sha256();
        try {
            Path config = directory.resolve("config.json");
            update(sha, "config.json");
            sha.update(Files.readAllBytes(config));
            List<Path> shards;
            try (Stream<Path> files = Files.list(directory)) {
                shards = files.filter(f -> f.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            }
            if (shards.isEmpty()) {
                throw new IllegalArgumentException("no .safetensors file in " + directory + " to name the model by");
            }
            for (Path shard : shards) {
                fingerprint(sha, shard);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the checkpoint in " + directory + " to name the model", e);
        }
        return "ckpt-" + HexFormat.of().formatHex(sha.digest(), 0, 12) + "/" + numerics;
    }

    private static void fingerprint(MessageDigest sha, Path shard) throws IOException {
        try (FileChannel file = FileChannel.open(shard, StandardOpenOption.READ)) {
            long size = file.size();
            update(sha, shard.getFileName().toString());
            sha.update(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(size).array());
            if (size < 8) {
                throw new IllegalArgumentException(shard + " is too short for a safetensors file (" + size + " bytes)");
            }
            long headerBytes = read(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (headerBytes < 0 || headerBytes > MAX_HEADER_BYTES || 8 + headerBytes > size) {
                throw new IllegalArgumentException(shard + " declares a header of " + headerBytes + " bytes in a file of " + size);
            }
            sha.update(read(file, 8, (int) headerBytes));
            long dataStart = 8 + headerBytes;
            long data = size - dataStart;
            for (int i = 0; i < SAMPLES && data > 0; i++) {
                long offset = dataStart + (data - Math.min(data, WINDOW_BYTES)) * i / Math.max(1, SAMPLES - 1);
                sha.update(read(file, offset, (int) Math.min(WINDOW_BYTES, size - offset)));
            }
        }
    }

    private static ByteBuffer read(FileChannel file, long position, int bytes) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(bytes);
        while (buffer.hasRemaining()) {
            if (file.read(buffer, position + buffer.position()) < 0) {
                throw new IOException("unexpected end of file at " + (position + buffer.position()));
            }
        }
        return buffer.flip();
    }

    private static void update(MessageDigest sha, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        sha.update(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length).array());
        sha.update(bytes);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
