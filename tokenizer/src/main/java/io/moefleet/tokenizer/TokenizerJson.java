package io.moefleet.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.model.CheckpointException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} with a byte-level BPE model: its vocabulary as bytes, its added tokens, and the
 * same file without the added tokens, for a BPE core that must treat their text as ordinary text.
 *
 * @param baseTokens the bytes of each vocabulary id ({@code null} for ids that only an added token has)
 * @param addedTokens {@code added_tokens}: each one's text and id
 * @param withoutAddedTokens the file's JSON with an empty {@code added_tokens}
 */
record TokenizerJson(byte[][] baseTokens, SpecialTokens addedTokens, String withoutAddedTokens) {

    static final String FILE = "tokenizer.json";

    static TokenizerJson read(Path file) {
        ObjectMapper mapper = new ObjectMapper();
        JsonNode root;
        try {
            root = mapper.readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(file + " is not a JSON object");
        }
        String model = root.path("model").path("type").asText("");
        String decoder = root.path("decoder").path("type").asText("");
        if (!model.equals("BPE") || !decoder.equals("ByteLevel")) {
            throw new CheckpointException(file + ": only byte-level BPE is supported (model BPE, decoder ByteLevel); found model '"
                    + model + "', decoder '" + decoder + "'");
        }
        Map<String, Integer> added = new LinkedHashMap<>();
        for (JsonNode token : root.path("added_tokens")) {
            if (!token.path("content").isTextual() || !token.path("id").canConvertToInt()) {
                throw new CheckpointException(file + ": an added token needs a 'content' and an 'id': " + token);
            }
            added.put(token.path("content").asText(), token.path("id").asInt());
        }
        int vocabularySize = root.path("model").path("vocab").size();
        for (Map.Entry<String, Integer> token : added.entrySet()) {
            if (token.getValue() > vocabularySize + Tokenizers.MAX_IDS_PAST_RANKS) {
                throw new CheckpointException(file + ": added token '" + token.getKey() + "' has id " + token.getValue()
                        + ", more than " + Tokenizers.MAX_IDS_PAST_RANKS + " past the vocabulary's " + vocabularySize + " tokens");
            }
        }
        SpecialTokens addedTokens;
        try {
            addedTokens = SpecialTokens.of(added);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file + ": " + e.getMessage(), e);
        }
        byte[][] baseTokens = baseTokens(file, root.path("model").path("vocab"), addedTokens);
        ((ObjectNode) root).putArray("added_tokens");
        return new TokenizerJson(baseTokens, addedTokens, root.toString());
    }

    private static byte[][] baseTokens(Path file, JsonNode vocab, SpecialTokens addedTokens) {
        if (!vocab.isObject() || vocab.isEmpty()) {
            throw new CheckpointException(file + ": model.vocab is missing or empty");
        }
        int size = 0;
        for (Map.Entry<String, JsonNode> entry : vocab.properties()) {
            int id = entry.getValue().asInt(-1);
            // the table is by id: an id far past the number of tokens would make it as large as that id
            if (id > vocab.size() + Tokenizers.MAX_IDS_PAST_RANKS) {
                throw new CheckpointException(file + ": vocabulary token '" + entry.getKey() + "' has id " + id + ", more than "
                        + Tokenizers.MAX_IDS_PAST_RANKS + " past the vocabulary's " + vocab.size() + " tokens");
            }
            size = Math.max(size, id + 1);
        }
        byte[][] tokens = new byte[size][];
        for (Map.Entry<String, JsonNode> entry : vocab.properties()) {
            int id = entry.getValue().asInt(-1);
            if (id < 0) {
                throw new CheckpointException(file + ": vocabulary token '" + entry.getKey() + "' has no valid id");
            }
            byte[] bytes = ByteLevelAlphabet.bytesOf(entry.getKey());
            // an added token may also sit in the vocabulary in its plain spelling; its text is what it stands for
            if (bytes == null && !addedTokens.isSpecial(id)) {
                throw new CheckpointException(file + ": vocabulary token '" + entry.getKey() + "' (id " + id
                        + ") is not written in the byte-level alphabet");
            }
            tokens[id] = bytes;
        }
        return tokens;
    }
}
