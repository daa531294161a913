package io.moefleet.checkpoint;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The 256 special ids that follow Kimi K2's base ranks, by offset from the first special id
 * ({@code vocab_size - 256}); offsets as in Kimi K2's tokenizer_config.json. {@code <think>} and
 * {@code </think>} take two of Kimi K2's reserved slots (their real ids are not published).
 */
final class KimiSpecialTokens {
    static final int COUNT = 256;

    static final int BOS = 0;
    static final int EOS = 1;
    static final int IM_END = 2;
    static final int UNK = 254;
    static final int PAD = 255;

    private static final Map<Integer, String> NAMED = Map.ofEntries(
            Map.entry(BOS, "[BOS]"),
            Map.entry(EOS, "[EOS]"),
            Map.entry(IM_END, "<|im_end|>"),
            Map.entry(3, "<|im_user|>"),
            Map.entry(4, "<|im_assistant|>"),
            Map.entry(6, "<|start_header_id|>"),
            Map.entry(7, "<|end_header_id|>"),
            Map.entry(9, "[EOT]"),
            Map.entry(10, "<|im_system|>"),
            Map.entry(11, "<|tool_calls_section_begin|>"),
            Map.entry(12, "<|tool_calls_section_end|>"),
            Map.entry(13, "<|tool_call_begin|>"),
            Map.entry(14, "<|tool_call_argument_begin|>"),
            Map.entry(15, "<|tool_call_end|>"),
            Map.entry(17, "<|im_middle|>"),
            Map.entry(21, "<|media_pad|>"),
            Map.entry(50, "<think>"),
            Map.entry(51, "</think>"),
            Map.entry(UNK, "[UNK]"),
            Map.entry(PAD, "[PAD]"));

    /** The tool-call markers are ordinary (non-special) added tokens in Kimi K2, so decoders keep them. */
    private static final Set<Integer> NOT_SPECIAL = Set.of(11, 12, 13, 14, 15);

    /** Kimi K2's tokenizer_config.json {@code additional_special_tokens}. */
    static final List<String> ADDITIONAL = List.of(
            "<|im_end|>", "<|im_user|>", "<|im_assistant|>", "<|start_header_id|>", "<|end_header_id|>",
            "[EOT]", "<|im_system|>", "<|im_middle|>");

    private KimiSpecialTokens() {
    }

    static String content(int offset, int firstSpecialId) {
        return NAMED.getOrDefault(offset, "<|reserved_token_" + (firstSpecialId + offset) + "|>");
    }

    static String content(int offset) {
        String name = NAMED.get(offset);
        if (name == null) {
            throw new IllegalArgumentException("no named special token at offset " + offset);
        }
        return name;
    }

    static boolean special(int offset) {
        return !NOT_SPECIAL.contains(offset);
    }
}
