package io.moefleet.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizerFilesTest {
    @TempDir
    static Path tmp;
    static Path dir;

    @BeforeAll
    static void writeCheckpoints() throws IOException {
        dir = tmp.resolve("tiny");
        CheckpointWriter.write(Preset.config("tiny"), 1, WeightFormat.F32, dir);
        CheckpointWriter.write(Preset.config("tiny-alt"), 1, WeightFormat.F32, tmp.resolve("other"));
    }

    @Test
    void tiktokenModelHoldsTheBaseRanksWithSingleBytesFirst() throws IOException {
        List<String> lines = Files.readAllLines(dir.resolve("tiktoken.model"), StandardCharsets.US_ASCII);
        assertEquals(1280 - 256, lines.size());
        Set<Integer> bytes = new HashSet<>();
        Set<String> tokens = new HashSet<>();
        for (int rank = 0; rank < lines.size(); rank++) {
            String[] fields = lines.get(rank).split(" ");
            assertEquals(2, fields.length, lines.get(rank));
            assertEquals(rank, Integer.parseInt(fields[1]));
            byte[] token = Base64.getDecoder().decode(fields[0]);
            assertTrue(tokens.add(fields[0]), "duplicate token at rank " + rank);
            if (rank < 256) {
                assertEquals(1, token.length, "rank " + rank + " is a single byte");
                bytes.add(token[0] & 0xFF);
            } else {
                assertTrue(token.length > 1, "rank " + rank + " is a merge");
            }
        }
        assertEquals(256, bytes.size(), "every byte value has a rank");
        assertEquals(lines.subList(0, 1024), Files.readAllLines(tmp.resolve("other").resolve("tiktoken.model")).subList(0, 1024),
                "a larger vocabulary extends the same ranks");
    }

    @Test
    void theSpecialIdsFollowTheBaseRanksAtKimiOffsets() throws IOException {
        JsonNode config = CheckpointWriterTest.readJson(dir.resolve("tokenizer_config.json"));
        JsonNode decoder = config.get("added_tokens_decoder");
        assertEquals(256, decoder.size());
        Map<Integer, String> named = Map.ofEntries(
                Map.entry(1024, "[BOS]"), Map.entry(1025, "[EOS]"), Map.entry(1026, "<|im_end|>"),
                Map.entry(1027, "<|im_user|>"), Map.entry(1028, "<|im_assistant|>"),
                Map.entry(1030, "<|start_header_id|>"), Map.entry(1031, "<|end_header_id|>"), Map.entry(1033, "[EOT]"),
                Map.entry(1034, "<|im_system|>"), Map.entry(1035, "<|tool_calls_section_begin|>"),
                Map.entry(1036, "<|tool_calls_section_end|>"), Map.entry(1037, "<|tool_call_begin|>"),
                Map.entry(1038, "<|tool_call_argument_begin|>"), Map.entry(1039, "<|tool_call_end|>"),
                Map.entry(1041, "<|im_middle|>"), Map.entry(1045, "<|media_pad|>"),
                Map.entry(1074, "<think>"), Map.entry(1075, "</think>"),
                Map.entry(1278, "[UNK]"), Map.entry(1279, "[PAD]"));
        Set<String> contents = new HashSet<>();
        for (int id = 1024; id < 1280; id++) {
            JsonNode token = decoder.get(Integer.toString(id));
            String content = token.get("content").asText();
            assertEquals(named.getOrDefault(id, "<|reserved_token_" + id + "|>"), content, "id " + id);
            assertTrue(contents.add(content));
            boolean toolCallMarker = id >= 1035 && id <= 1039;
            assertEquals(!toolCallMarker, token.get("special").asBoolean(), content);
            for (String flag : List.of("lstrip", "normalized", "rstrip", "single_word")) {
                assertFalse(token.get(flag).asBoolean(), content + " " + flag);
            }
        }
        assertEquals("[BOS]", config.get("bos_token").asText());
        assertEquals("<|im_end|>", config.get("eos_token").asText());
        assertEquals("[PAD]", config.get("pad_token").asText());
        assertEquals("[UNK]", config.get("unk_token").asText());
        assertEquals(131072, config.get("model_max_length").asInt());
        assertEquals("TikTokenTokenizer", config.get("tokenizer_class").asText());

        JsonNode alt = CheckpointWriterTest.readJson(tmp.resolve("other").resolve("tokenizer_config.json"));
        assertEquals("[BOS]", alt.at("/added_tokens_decoder/1280/content").asText());
        assertEquals("<|reserved_token_1285|>", alt.at("/added_tokens_decoder/1285/content").asText());
        assertEquals(4096, alt.get("model_max_length").asInt());
    }

    @Test
    void theChatTemplateIsTheResourceAndCoversTheKimiFormat() throws IOException {
        String template = CheckpointWriterTest.readJson(dir.resolve("tokenizer_config.json")).get("chat_template").asText();
        assertEquals(ChatTemplate.text(), template);
        for (String piece : List.of("<|im_system|>tool_declare<|im_middle|>", "tojson",
                "You are Kimi, an AI assistant created by Moonshot AI.", "<|im_user|>", "<|im_assistant|>",
                "## Return of ", "<|tool_calls_section_begin|>", "<|tool_call_begin|>", "<|tool_call_argument_begin|>",
                "<|tool_call_end|>", "<|tool_calls_section_end|>", "'functions.'", "reasoning_content", "<think></think>",
                "thinking", "add_generation_prompt", "<|im_assistant|>assistant<|im_middle|>")) {
            assertTrue(template.contains(piece), "template lacks " + piece);
        }
    }

    @Test
    void aVocabularyTooSmallForTheByteRanksFails() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BaseVocabulary.firstRanks(255));
        assertTrue(e.getMessage().contains("vocab_size must be at least 512"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BaseVocabulary.firstRanks(200_000));
    }
}
