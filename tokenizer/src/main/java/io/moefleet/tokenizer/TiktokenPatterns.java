package io.moefleet.tokenizer;

import java.util.regex.Pattern;

/** Pre-tokenizer patterns of tiktoken vocabularies, as Java regexes. */
public final class TiktokenPatterns {

    /**
     * Kimi K2's {@code pat_str} (from {@code tokenization_kimi.py}: the checkpoint ships it as code, not data): runs of
     * Han characters, words with an optional leading non-letter and English contractions, numbers of up to three
     * digits, punctuation runs, newlines, other whitespace. Java spells the Han script {@code \p{IsHan}}.
     */
    public static final Pattern KIMI_K2 = compile(String.join("|",
            "[\\p{IsHan}]+",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{IsHan}]]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{IsHan}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{IsHan}]]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}&&[^\\p{IsHan}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "\\p{N}{1,3}",
            " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*",
            "\\s*[\\r\\n]+",
            "\\s+(?!\\S)",
            "\\s+"));

    private TiktokenPatterns() {}

    /**
     * A tiktoken {@code pat_str} as tiktoken's Rust regex reads it: {@code \s} is Unicode whitespace and {@code (?i)}
     * folds Unicode case, which Java does only with {@link Pattern#UNICODE_CHARACTER_CLASS}.
     */
    public static Pattern compile(String patStr) {
        return Pattern.compile(patStr, Pattern.UNICODE_CHARACTER_CLASS);
    }
}
