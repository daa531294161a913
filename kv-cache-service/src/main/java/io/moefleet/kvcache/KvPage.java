package io.moefleet.kvcache;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * One immutable KV page: for {@code tokenCount} consecutive positions of a sequence, every layer's cached latents
 * ({@code kv_lora_rank} normalised KV latent values then {@code qk_rope_head_dim} roped key values, as in
 * {@code LatentCache}), stored as little-endian float32 {@code [layers][positions][width]}.
 */
public final class KvPage {

    private final String modelId;
    private final int pageIndex;
    private final int tokenCount;
    private final int layers;
    private final int width;
    private final byte[] latents;

    private KvPage(String modelId, int pageIndex, int tokenCount, int layers, int width, byte[] latents) {
        if (pageIndex < 0 || tokenCount < 1 || layers < 1 || width < 1) {
            throw new IllegalArgumentException("bad page shape: index " + pageIndex + ", " + tokenCount + " tokens, "
                    + layers + " layers, width " + width);
        }
        long expected = 4L * layers * tokenCount * width;
        if (latents.length != expected) {
            throw new IllegalArgumentException("a page of " + layers + "x" + tokenCount + "x" + width
                    + " float32 has " + expected + " bytes, not " + latents.length);
        }
        this.modelId = Objects.requireNonNull(modelId, "modelId");
        this.pageIndex = pageIndex;
        this.tokenCount = tokenCount;
        this.layers = layers;
        this.width = width;
        this.latents = latents;
    }

    /** A page over raw little-endian float32 bytes {@code [layers][tokenCount][width]} (copied). */
    public static KvPage of(String modelId, int pageIndex, int tokenCount, int layers, int width, byte[] latents) {
        return new KvPage(modelId, pageIndex, tokenCount, layers, width, latents.clone());
    }

    /**
     * A page over {@code latents}, float32 {@code [layers][tokenCount][width]} in one array (what an attention instance
     * copies out of a sequence's cache), encoded once.
     */
    public static KvPage fromFloats(String modelId, int pageIndex, int tokenCount, int layers, int width, float[] latents) {
        long expected = (long) layers * tokenCount * width;
        if (latents.length != expected) {
            throw new IllegalArgumentException("a page of " + layers + "x" + tokenCount + "x" + width + " float32 has "
                    + expected + " values, not " + latents.length);
        }
        ByteBuffer bytes = ByteBuffer.allocate(4 * latents.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(latents);
        return new KvPage(modelId, pageIndex, tokenCount, layers, width, bytes.array());
    }

    /** A page over {@code latents[layer][position][value]}; every row must have the same width. */
    public static KvPage fromLatents(String modelId, int pageIndex, float[][][] latents) {
        int layers = latents.length;
        int tokens = layers == 0 ? 0 : latents[0].length;
        int width = tokens == 0 ? 0 : latents[0][0].length;
        ByteBuffer bytes = ByteBuffer.allocate(4 * layers * tokens * width).order(ByteOrder.LITTLE_ENDIAN);
        for (float[][] layer : latents) {
            if (layer.length != tokens) {
                throw new IllegalArgumentException("every layer needs " + tokens + " positions, not " + layer.length);
            }
            for (float[] row : layer) {
                if (row.length != width) {
                    throw new IllegalArgumentException("every row needs width " + width + ", not " + row.length);
                }
                bytes.asFloatBuffer().put(row);
                bytes.position(bytes.position() + 4 * width);
            }
        }
        return new KvPage(modelId, pageIndex, tokens, layers, width, bytes.array());
    }

    public String modelId() {
        return modelId;
    }

    /** Which page of its sequence this is: it covers positions {@code [pageIndex·tokenCount, (pageIndex+1)·tokenCount)}. */
    public int pageIndex() {
        return pageIndex;
    }

    public int tokenCount() {
        return tokenCount;
    }

    public int layers() {
        return layers;
    }

    /** Values per position per layer: {@code kv_lora_rank + qk_rope_head_dim}. */
    public int width() {
        return width;
    }

    /** Bytes of latents: {@code 4 · layers · tokenCount · width}. */
    public int byteSize() {
        return latents.length;
    }

    /** The latents as a read-only little-endian view, {@code [layers][tokenCount][width]} float32. */
    public ByteBuffer latentBytes() {
        return ByteBuffer.wrap(latents).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Copies one position's latents of one layer into {@code row} (at least {@link #width()} long). */
    public void copyLatent(int layer, int position, float[] row) {
        Objects.checkIndex(layer, layers);
        Objects.checkIndex(position, tokenCount);
        int offset = 4 * (layer * tokenCount + position) * width;
        ByteBuffer.wrap(latents, offset, 4 * width).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(row, 0, width);
    }

    @Override
    public String toString() {
        return "KvPage[" + modelId + " #" + pageIndex + ", " + layers + "x" + tokenCount + "x" + width + "]";
    }
}
