package io.moefleet.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.moefleet.model.CheckpointException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/** The BPE core of a {@code tokenizer.json}, run by Hugging Face's tokenizers library (native, through DJL). */
final class HuggingFaceEncoder implements OrdinaryEncoder {

    /*
     * DJL says which native build it picked (INFO) and, where a CUDA runtime without a usable driver is installed,
     * warns that it cannot count GPUs, which a tokenizer never uses. Held in fields so the levels outlive garbage collection.
     */
    private static final Logger DJL_LOG = Logger.getLogger("ai.djl");
    private static final Logger DJL_CUDA_LOG = Logger.getLogger("ai.djl.util.cuda");

    static {
        // DJL would otherwise probe the EC2 metadata address for telemetry and may download native libraries;
        // the tokenizers library is bundled in its jar, so nothing needs the network
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        DJL_LOG.setLevel(Level.WARNING);
        DJL_CUDA_LOG.setLevel(Level.OFF);
    }

    /** Nothing added by the post-processor (bos is the caller's choice), no truncation (DJL's default cuts at 512), no padding. */
    private static final Map<String, String> OPTIONS =
            Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");

    private final HuggingFaceTokenizer tokenizer;

    /** @param json a tokenizer.json with no added tokens: their text must reach the BPE model as ordinary text */
    HuggingFaceEncoder(Path file, String json) {
        try {
            this.tokenizer = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), OPTIONS);
        } catch (IOException | RuntimeException e) {
            throw new CheckpointException("cannot load " + file + " into Hugging Face tokenizers: " + e.getMessage(), e);
        }
    }

    @Override
    public int[] encode(String text) {
        long[] ids = tokenizer.encode(text, false, false).getIds();
        int[] result = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            result[i] = Math.toIntExact(ids[i]);
        }
        return result;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
