package io.moefleet.tokenizer;

import io.moefleet.model.CheckpointException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;

/** Loads the tokenizer a checkpoint's own files define. Nothing is downloaded. */
public final class Tokenizers {

    public static final String TIKTOKEN_FILE = "tiktoken.model";

    /**
     * How far past the base ranks a special token's id (or a rank past the ranks before it, or a vocabulary id past
     * the number of tokens) may lie. The vocabulary is a dense table up to its largest id,
     * and real checkpoints put their specials right after the ranks (Kimi K2: 256 of them): an id further away is a
     * corrupt file, whose table would not fit in memory.
     */
    static final int MAX_IDS_PAST_RANKS = 1 << 20;

    private Tokenizers() {}

    /**
     * The checkpoint's tokenizer: {@code tiktoken.model} with Kimi K2's pattern and the special tokens of
     * {@code tokenizer_config.json} (the Kimi layout), else a byte-level BPE {@code tokenizer.json}.
     */
    public static TextTokenizer load(Path checkpointDir) {
        if (!Files.isDirectory(checkpointDir)) {
            throw new CheckpointException("checkpoint directory " + checkpointDir + " does not exist");
        }
        Path tiktoken = checkpointDir.resolve(TIKTOKEN_FILE);
        if (Files.isRegularFile(tiktoken)) {
            TokenizerConfig config = TokenizerConfig.read(checkpointDir);
            SpecialTokens specials = specials(config);
            byte[][] ranks = TiktokenRanks.read(tiktoken);
            return tiktoken(tiktoken.toString(), ranks, TiktokenPatterns.KIMI_K2, specials, config.file().toString(),
                    SequenceMarkers.read(checkpointDir, config, specials));
        }
        Path tokenizerJson = checkpointDir.resolve(TokenizerJson.FILE);
        if (Files.isRegularFile(tokenizerJson)) {
            TokenizerJson json = TokenizerJson.read(tokenizerJson);
            TokenizerConfig config = Files.isRegularFile(checkpointDir.resolve(TokenizerConfig.FILE))
                    ? TokenizerConfig.read(checkpointDir)
                    : TokenizerConfig.empty(checkpointDir);
            SequenceMarkers markers = SequenceMarkers.read(checkpointDir, config, json.addedTokens());
            return new BpeTokenizer(new HuggingFaceEncoder(tokenizerJson, json.withoutAddedTokens()), json.addedTokens(),
                    Vocabulary.of(json.baseTokens(), json.addedTokens()), markers);
        }
        throw new CheckpointException("checkpoint " + checkpointDir + " has no tokenizer: neither " + TIKTOKEN_FILE
                + " nor " + TokenizerJson.FILE);
    }

    /**
     * A tiktoken vocabulary from its rank file, with the pre-tokenizer pattern and special tokens its owner defines
     * (e.g. OpenAI's cl100k_base: {@link TiktokenPatterns#compile} of its {@code pat_str}, {@code <|endoftext|>} 100257...).
     *
     * @param source names the rank file in errors
     */
    public static TextTokenizer tiktoken(InputStream ranks, String source, Pattern pattern, SpecialTokens specials,
            SequenceMarkers markers) throws IOException {
        return tiktoken(source, TiktokenRanks.read(ranks, source), pattern, specials, "the special tokens given", markers);
    }

    /** @param specialsSource where the special tokens come from, for errors */
    private static TextTokenizer tiktoken(String source, byte[][] ranks, Pattern pattern, SpecialTokens specials,
            String specialsSource, SequenceMarkers markers) {
        for (Map.Entry<String, Integer> special : specials.idsByText().entrySet()) {
            int id = special.getValue();
            if (id < 0 || id - ranks.length >= MAX_IDS_PAST_RANKS) {
                throw new CheckpointException("special token '" + special.getKey() + "' has id " + id + " in " + specialsSource
                        + ", which is not an id from 0 to " + MAX_IDS_PAST_RANKS + " past the " + ranks.length + " ranks of " + source);
            }
            if (id < ranks.length && ranks[id] != null) {
                throw new CheckpointException("special token '" + special.getKey() + "' has id " + id + " in " + specialsSource
                        + ", which " + source + " already gives to a base token");
            }
        }
        return new BpeTokenizer(new TiktokenEncoder(source, pattern, ranks), specials, Vocabulary.of(ranks, specials), markers);
    }

    private static SpecialTokens specials(TokenizerConfig config) {
        try {
            return SpecialTokens.of(config.addedTokens());
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(config.file() + ": " + e.getMessage(), e);
        }
    }
}
