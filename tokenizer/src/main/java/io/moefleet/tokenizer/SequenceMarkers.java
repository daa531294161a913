package io.moefleet.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.model.CheckpointException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The tokens that begin and end a checkpoint's sequences.
 *
 * @param bos the beginning-of-sequence id: {@code bos_token} of tokenizer_config.json, else {@code bos_token_id} of
 *     config.json
 * @param eos the ids that end a generation: the {@code eos_token} of tokenizer_config.json first, then
 *     {@code eos_token_id} (one id or a list) of generation_config.json, or of config.json when there is no
 *     generation_config.json (Kimi K2: {@code <|im_end|>} and {@code [EOS]})
 * @param addBos {@code add_bos_token}: whether a prompt for plain completion starts with {@code bos}
 */
public record SequenceMarkers(OptionalInt bos, int[] eos, boolean addBos) {

    public static SequenceMarkers none() {
        return new SequenceMarkers(OptionalInt.empty(), new int[0], false);
    }

    static SequenceMarkers read(Path checkpointDir, TokenizerConfig config, SpecialTokens specials) {
        JsonNode modelConfig = json(checkpointDir.resolve("config.json"));
        JsonNode generationConfig = json(checkpointDir.resolve("generation_config.json"));

        OptionalInt bos = config.token("bos_token").map(text -> tokenId(config, specials, "bos_token", text))
                .orElseGet(() -> modelConfig.path("bos_token_id").canConvertToInt()
                        ? OptionalInt.of(modelConfig.path("bos_token_id").asInt())
                        : OptionalInt.empty());

        Set<Integer> eos = new LinkedHashSet<>();
        config.token("eos_token").map(text -> tokenId(config, specials, "eos_token", text)).ifPresent(id -> eos.add(id.getAsInt()));
        JsonNode eosIds = generationConfig.has("eos_token_id") ? generationConfig.path("eos_token_id") : modelConfig.path("eos_token_id");
        if (eosIds.isArray()) {
            eosIds.forEach(id -> eos.add(id.asInt()));
        } else if (eosIds.canConvertToInt()) {
            eos.add(eosIds.asInt());
        }
        return new SequenceMarkers(bos, eos.stream().mapToInt(Integer::intValue).toArray(), config.addsBosToken());
    }

    private static OptionalInt tokenId(TokenizerConfig config, SpecialTokens specials, String key, String text) {
        OptionalInt id = specials.id(text);
        if (id.isEmpty()) {
            throw new CheckpointException(config.file() + ": " + key + " '" + text + "' is not one of the special tokens");
        }
        return id;
    }

    private static JsonNode json(Path file) {
        if (!Files.isRegularFile(file)) {
            return new ObjectMapper().createObjectNode();
        }
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
