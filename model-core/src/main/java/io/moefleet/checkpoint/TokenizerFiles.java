package io.moefleet.checkpoint;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The Kimi K2 tokenizer files of a generated checkpoint: {@code tiktoken.model} (base ranks) and
 * {@code tokenizer_config.json} (the 256 special ids after them, special token names, chat template).
 */
final class TokenizerFiles {
    static final String TIKTOKEN_FILE = "tiktoken.model";
    static final String CONFIG_FILE = "tokenizer_config.json";

    private TokenizerFiles() {
    }

    /** The first special id, {@code [BOS]}: everything below it is a base rank. */
    static int firstSpecialId(int vocabSize) {
        return vocabSize - KimiSpecialTokens.COUNT;
    }

    static void write(Path dir, int vocabSize, int maxPositions) throws IOException {
        int baseRanks = firstSpecialId(vocabSize);
        writeTiktoken(dir.resolve(TIKTOKEN_FILE), BaseVocabulary.firstRanks(baseRanks));
        JsonFiles.write(dir.resolve(CONFIG_FILE), tokenizerConfig(baseRanks, maxPositions));
    }

    private static void writeTiktoken(Path file, List<String> tokens) throws IOException {
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.US_ASCII)) {
            for (int rank = 0; rank < tokens.size(); rank++) {
                out.write(tokens.get(rank));
                out.write(' ');
                out.write(Integer.toString(rank));
                out.write('\n');
            }
        }
    }

    static ObjectNode tokenizerConfig(int firstSpecialId, int maxPositions) {
        ObjectNode config = JsonNodeFactory.instance.objectNode();
        ObjectNode decoder = config.putObject("added_tokens_decoder");
        for (int offset = 0; offset < KimiSpecialTokens.COUNT; offset++) {
            ObjectNode token = decoder.putObject(Integer.toString(firstSpecialId + offset));
            token.put("content", KimiSpecialTokens.content(offset, firstSpecialId));
            token.put("lstrip", false);
            token.put("normalized", false);
            token.put("rstrip", false);
            token.put("single_word", false);
            token.put("special", KimiSpecialTokens.special(offset));
        }
        ArrayNode additional = config.putArray("additional_special_tokens");
        KimiSpecialTokens.ADDITIONAL.forEach(additional::add);
        config.put("bos_token", KimiSpecialTokens.content(KimiSpecialTokens.BOS));
        config.put("eos_token", KimiSpecialTokens.content(KimiSpecialTokens.IM_END));
        config.put("pad_token", KimiSpecialTokens.content(KimiSpecialTokens.PAD));
        config.put("unk_token", KimiSpecialTokens.content(KimiSpecialTokens.UNK));
        config.put("clean_up_tokenization_spaces", false);
        config.put("model_max_length", maxPositions);
        config.put("tokenizer_class", "TikTokenTokenizer");
        config.put("chat_template", ChatTemplate.text());
        return config;
    }
}
