package io.moefleet.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.model.CheckpointException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint's token vocabulary: the base ranks of {@code tiktoken.model} ({@code base64(bytes) rank} per line) and
 * the special tokens of {@code tokenizer_config.json} ({@code added_tokens_decoder}). It maps ids to bytes and back;
 * BPE encoding builds on it.
 */
public final class Vocabulary {

    private final byte[][] bytesById;
    private final Map<String, Integer> specialIds;
    private final int[] singleByteIds = new int[256];

    private Vocabulary(byte[][] bytesById, Map<String, Integer> specialIds) {
        this.bytesById = bytesById;
        this.specialIds = specialIds;
        java.util.Arrays.fill(singleByteIds, -1);
        for (int id = 0; id < bytesById.length; id++) {
            byte[] b = bytesById[id];
            if (b != null && b.length == 1 && !specialIds.containsValue(id) && singleByteIds[b[0] & 0xFF] < 0) {
                singleByteIds[b[0] & 0xFF] = id;
            }
        }
    }

    public static Vocabulary read(Path checkpoint) {
        Path ranksFile = checkpoint.resolve("tiktoken.model");
        Map<Integer, byte[]> byId = new HashMap<>();
        int size = 0;
        try {
            List<String> lines = Files.readAllLines(ranksFile, StandardCharsets.UTF_8);
            for (int n = 0; n < lines.size(); n++) {
                String line = lines.get(n).strip();
                if (line.isEmpty()) {
                    continue;
                }
                String[] parts = line.split(" ");
                if (parts.length != 2) {
                    throw new CheckpointException(ranksFile + " line " + (n + 1) + ": expected 'base64 rank'");
                }
                int rank = Integer.parseInt(parts[1]);
                byId.put(rank, Base64.getDecoder().decode(parts[0]));
                size = Math.max(size, rank + 1);
            }
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + ranksFile + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(ranksFile + ": " + e.getMessage(), e);
        }
        Map<String, Integer> specials = new HashMap<>();
        Path configFile = checkpoint.resolve("tokenizer_config.json");
        try {
            JsonNode added = new ObjectMapper().readTree(configFile.toFile()).path("added_tokens_decoder");
            for (Iterator<Map.Entry<String, JsonNode>> it = added.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                int id = Integer.parseInt(e.getKey());
                String content = e.getValue().path("content").asText();
                specials.put(content, id);
                byId.put(id, content.getBytes(StandardCharsets.UTF_8));
                size = Math.max(size, id + 1);
            }
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + configFile + ": " + e.getMessage(), e);
        }
        byte[][] bytesById = new byte[size][];
        byId.forEach((id, b) -> bytesById[id] = b);
        return new Vocabulary(bytesById, Map.copyOf(specials));
    }

    public int size() {
        return bytesById.length;
    }

    /** The id of a special token's text, e.g. {@code [BOS]}; an error naming it when the checkpoint has none. */
    public int specialId(String text) {
        Integer id = specialIds.get(text);
        if (id == null) {
            throw new IllegalArgumentException("the tokenizer has no special token " + text);
        }
        return id;
    }

    /** The bytes of a token (a special token's are its text). */
    public byte[] bytes(int id) {
        if (id < 0 || id >= bytesById.length || bytesById[id] == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary");
        }
        return bytesById[id];
    }

    /** The text of a token sequence: its bytes concatenated, decoded as UTF-8 (invalid sequences become U+FFFD). */
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int id : ids) {
            out.writeBytes(bytes(id));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Each UTF-8 byte of {@code text} as its single-byte token: a valid, unmerged encoding that needs no BPE. */
    public int[] byteTokens(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            ids[i] = singleByteIds[utf8[i] & 0xFF];
            if (ids[i] < 0) {
                throw new IllegalArgumentException("the vocabulary has no token for byte 0x" + Integer.toHexString(utf8[i] & 0xFF));
            }
        }
        return ids;
    }
}
