package io.moefleet.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.CheckpointException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A checkpoint whose tokenizer files are missing or broken stops with an error that names the file and the problem. */
class TokenizersLoadTest {

    @TempDir
    Path dir;

    private Path copyOfTinyK2() throws IOException {
        Path checkpoint = dir.resolve("tiny-k2");
        Files.createDirectories(checkpoint);
        for (String file : List.of("tiktoken.model", "tokenizer_config.json", "config.json", "generation_config.json")) {
            Files.copy(GoldenFiles.tinyK2().resolve(file), checkpoint.resolve(file));
        }
        return checkpoint;
    }

    private static void assertFails(Path checkpoint, String... expectedInMessage) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> Tokenizers.load(checkpoint).close());
        for (String expected : expectedInMessage) {
            assertTrue(e.getMessage().contains(expected), "'" + expected + "' in: " + e.getMessage());
        }
    }

    @Test
    void aMissingDirectoryOrTokenizerIsNamed() {
        assertFails(dir.resolve("nothing"), "nothing", "does not exist");
        assertFails(dir, "neither tiktoken.model nor tokenizer.json");
    }

    @Test
    void tiktokenModelNeedsItsTokenizerConfig() throws IOException {
        Path checkpoint = copyOfTinyK2();
        Files.delete(checkpoint.resolve("tokenizer_config.json"));
        assertFails(checkpoint, "tokenizer_config.json");
    }

    @Test
    void aBrokenRankLineIsNamedByFileAndLine() throws IOException {
        Path checkpoint = copyOfTinyK2();
        List<String> lines = Files.readAllLines(checkpoint.resolve("tiktoken.model"));
        lines.set(9, "not-base64!! 9");
        Files.write(checkpoint.resolve("tiktoken.model"), lines);
        assertFails(checkpoint, "tiktoken.model line 10");

        lines.set(9, "CQ==");
        Files.write(checkpoint.resolve("tiktoken.model"), lines);
        assertFails(checkpoint, "tiktoken.model line 10", "expected 'base64(token) rank'");

        lines.set(9, "CQ== 8");
        Files.write(checkpoint.resolve("tiktoken.model"), lines);
        assertFails(checkpoint, "rank 8 appears twice");

        lines.set(9, "CQ== 2147483647");   // as a table by rank, 2^31 entries: refused before any is made
        Files.write(checkpoint.resolve("tiktoken.model"), lines);
        assertFails(checkpoint, "tiktoken.model line 10", "rank 2147483647 is more than 1048576 past the 9 ranks before it");
    }

    @Test
    void aTokenizerJsonIdFarPastItsVocabularyIsRejected() throws IOException {
        Path checkpoint = dir.resolve("bpe");
        Files.createDirectories(checkpoint);
        String template = """
                {"model": {"type": "BPE", "vocab": {"a": 0, "b": VOCAB_ID}, "merges": []}, "decoder": {"type": "ByteLevel"},
                 "added_tokens": [{"content": "<s>", "id": ADDED_ID}]}""";
        // as a table by id, each would take 2^31 entries: refused before any is made
        Files.writeString(checkpoint.resolve("tokenizer.json"), template.replace("VOCAB_ID", "2147483647").replace("ADDED_ID", "2"));
        assertFails(checkpoint, "tokenizer.json", "vocabulary token 'b' has id 2147483647, more than 1048576 past");
        Files.writeString(checkpoint.resolve("tokenizer.json"), template.replace("VOCAB_ID", "1").replace("ADDED_ID", "2147483647"));
        assertFails(checkpoint, "tokenizer.json", "added token '<s>' has id 2147483647, more than 1048576 past");
    }

    @Test
    void aVocabularyWithoutEverySingleByteIsRejected() throws IOException {
        Path checkpoint = copyOfTinyK2();
        List<String> lines = Files.readAllLines(checkpoint.resolve("tiktoken.model"));
        lines.remove(0x41);
        Files.write(checkpoint.resolve("tiktoken.model"), lines);
        assertFails(checkpoint, "no token for the single byte 0x41");
    }

    @Test
    void aSpecialTokenOnABaseRankOrAnUnknownBosIsRejected() throws IOException {
        Path checkpoint = copyOfTinyK2();
        Path config = checkpoint.resolve("tokenizer_config.json");
        String original = Files.readString(config);
        Files.writeString(config, original.replace("\"1024\": {", "\"1000\": {"));
        assertFails(checkpoint, "special token '[BOS]' has id 1000", "tiktoken.model");

        Files.writeString(config, original.replace("\"bos_token\": \"[BOS]\"", "\"bos_token\": \"<s>\""));
        assertFails(checkpoint, "tokenizer_config.json", "bos_token '<s>' is not one of the special tokens");
    }

    @Test
    void aTokenizerJsonMustBeByteLevelBpeAndValidJson() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"Unigram\"}, \"decoder\": {\"type\": \"Metaspace\"}}");
        assertFails(dir, "tokenizer.json", "only byte-level BPE", "Unigram");
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": ");
        assertFails(dir, "cannot read", "tokenizer.json");
    }

    @Test
    void tiktokenModelWinsOverTokenizerJson() throws IOException {
        Path checkpoint = copyOfTinyK2();
        Files.writeString(checkpoint.resolve("tokenizer.json"), "not even JSON");
        try (TextTokenizer tokenizer = Tokenizers.load(checkpoint)) {
            assertArrayEquals(new int[] {1026}, tokenizer.encode("<|im_end|>", true));
        }
    }
}
