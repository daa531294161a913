package io.moefleet.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.model.CheckpointException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A checkpoint's {@code tokenizer_config.json}: its added (special) tokens, the names of its bos/eos/... tokens, and
 * its chat templates. A token name may be a string or an {@code AddedToken} object with a {@code content}.
 */
public final class TokenizerConfig {

    public static final String FILE = "tokenizer_config.json";

    /** The keys of Hugging Face's {@code special_tokens_map}, which chat templates see as variables. */
    private static final List<String> SPECIAL_TOKEN_KEYS =
            List.of("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token");

    private final Path file;
    private final JsonNode root;

    private TokenizerConfig(Path file, JsonNode root) {
        this.file = file;
        this.root = root;
    }

    public static TokenizerConfig read(Path checkpointDir) {
        Path file = checkpointDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException("the checkpoint has no " + file);
        }
        try {
            JsonNode root = new ObjectMapper().readTree(file.toFile());
            if (root == null || !root.isObject()) {
                throw new CheckpointException(file + " is not a JSON object");
            }
            return new TokenizerConfig(file, root);
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** An empty configuration, for checkpoints that ship none. */
    public static TokenizerConfig empty(Path checkpointDir) {
        return new TokenizerConfig(checkpointDir.resolve(FILE), new ObjectMapper().createObjectNode());
    }

    public Path file() {
        return file;
    }

    /** {@code added_tokens_decoder}: each added token's text and id. */
    public Map<String, Integer> addedTokens() {
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> entry : root.path("added_tokens_decoder").properties()) {
            String content = entry.getValue().path("content").asText("");
            int id;
            try {
                id = Integer.parseInt(entry.getKey());
            } catch (NumberFormatException e) {
                throw new CheckpointException(file + ": added_tokens_decoder key '" + entry.getKey() + "' is not a token id");
            }
            if (content.isEmpty()) {
                throw new CheckpointException(file + ": added token " + id + " has no content");
            }
            if (ids.put(content, id) != null) {
                throw new CheckpointException(file + ": the added token '" + content + "' appears twice");
            }
        }
        return ids;
    }

    /** The text of a named token such as {@code bos_token}, when the file names one. */
    public Optional<String> token(String key) {
        JsonNode node = root.path(key);
        if (node.isTextual()) {
            return Optional.of(node.asText());
        }
        if (node.isObject() && node.path("content").isTextual()) {
            return Optional.of(node.path("content").asText());
        }
        return Optional.empty();
    }

    /** {@code add_bos_token}: whether a prompt encoded for completion starts with the bos token. */
    public boolean addsBosToken() {
        return root.path("add_bos_token").asBoolean(false);
    }

    /**
     * The named tokens as Hugging Face hands them to chat templates: {@code bos_token}, {@code eos_token} and the
     * other keys of its {@code special_tokens_map} that the file names, and {@code additional_special_tokens}.
     */
    public Map<String, Object> templateTokens() {
        Map<String, Object> tokens = new LinkedHashMap<>();
        for (String key : SPECIAL_TOKEN_KEYS) {
            token(key).ifPresent(text -> tokens.put(key, text));
        }
        JsonNode additional = root.path("additional_special_tokens");
        if (additional.isArray()) {
            List<String> texts = new ArrayList<>();
            for (JsonNode token : additional) {
                texts.add(token.isObject() ? token.path("content").asText() : token.asText());
            }
            tokens.put("additional_special_tokens", texts);
        }
        return tokens;
    }

    /**
     * {@code chat_template} by name: a single template is named {@code default}; the list form
     * ({@code [{"name": ..., "template": ...}]}) names each.
     */
    public Map<String, String> chatTemplates() {
        JsonNode node = root.path("chat_template");
        Map<String, String> templates = new LinkedHashMap<>();
        if (node.isTextual()) {
            templates.put("default", node.asText());
        } else if (node.isArray()) {
            for (JsonNode named : node) {
                if (!named.path("name").isTextual() || !named.path("template").isTextual()) {
                    throw new CheckpointException(file + ": chat_template entries need a 'name' and a 'template'");
                }
                templates.put(named.path("name").asText(), named.path("template").asText());
            }
        } else if (!node.isMissingNode() && !node.isNull()) {
            throw new CheckpointException(file + ": chat_template must be a string or a list of named templates");
        }
        return templates;
    }
}
