package io.moefleet.chat.generation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.chat.output.KimiMarkers;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.grammar.Grammar;
import io.moefleet.grammar.GrammarMatcher;
import io.moefleet.grammar.TokenVocabulary;
import io.moefleet.tokenizer.TextTokenizer;
import io.moefleet.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Masks on the 32,000-token vocabulary of the {@code small} preset (a tiny model with that tokenizer, so it is written
 * in a moment): a tool call is walked token by token, through reasoning, content, the forced markers and name, and
 * JSON strings whose every position is a new grammar state. At each step the trie walk's mask must equal a plain scan
 * that runs every token's bytes through the grammar. A first walk warms the JIT; the second, with fresh grammar
 * caches, is timed and printed.
 */
class MaskOn32kVocabularyTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int STEPS = 160;

    @TempDir
    Path checkpoint;

    @Test
    void theTrieWalkMatchesAFullScanAndTakesAMillisecondOrSoPerNewState() throws IOException {
        ObjectNode config = Preset.config("tiny");
        int baseRanks = Preset.config("small").get("vocab_size").asInt() - 256;
        config.put("vocab_size", baseRanks + 256);
        config.put("bos_token_id", baseRanks);
        config.put("eos_token_id", baseRanks + 1);
        CheckpointWriter.write(config, 1, WeightFormat.BF16, checkpoint);
        try (TextTokenizer tokenizer = Tokenizers.load(checkpoint)) {
            assertEquals(32_000, tokenizer.vocabSize());
            long built = System.nanoTime();
            TokenVocabulary vocabulary = TokenVocabulary.of(tokenizer);
            double buildMillis = (System.nanoTime() - built) / 1e6;
            ObjectNode body = (ObjectNode) JSON.readTree("""
                    {"messages": [{"role": "user", "content": "Save it"}], "tool_choice": "auto",
                     "tools": [{"type": "function", "function": {"name": "save_note", "parameters": {"type": "object",
                       "properties": {"title": {"type": "string"}, "body": {"type": "string"},
                                      "priority": {"type": "integer", "minimum": 1, "maximum": 5}},
                       "required": ["title", "body", "priority"]}}}]}""");
            Grammar grammar = AnswerGrammar.of(ChatRequest.fromJson(body), true, tokenizer.specialTokens(),
                    tokenizer.sequenceMarkers().eos());
            walk(tokenizer, vocabulary, grammar);
            double[][] timings = walk(tokenizer, vocabulary, grammar);
            double[] trie = timings[0];
            System.out.printf("masks on a %d-token vocabulary (trie of %d nodes, built in %.0f ms), %d steps of a tool call"
                            + " with fresh caches: trie walk median %.2f ms, 90th percentile %.2f ms, max %.2f ms, mean %.2f ms;"
                            + " scanning every token instead: median %.2f ms%n",
                    vocabulary.size(), vocabulary.trieNodes(), buildMillis, trie.length, percentile(trie, 50),
                    percentile(trie, 90), percentile(trie, 100), Arrays.stream(trie).average().orElseThrow(),
                    percentile(timings[1], 50));
            assertTrue(percentile(trie, 90) < 20, "a new state's mask takes a millisecond or so, not tens of them");
        }
    }

    /**
     * Reasoning for a few steps, content, then a section; inside it a random allowed token each step. Returns the
     * milliseconds each step's mask took: by trie walk, and by scan.
     */
    private static double[][] walk(TextTokenizer tokenizer, TokenVocabulary vocabulary, Grammar grammar) {
        GrammarMatcher matcher = new GrammarMatcher(grammar, vocabulary);
        GrammarMatcher scanner = new GrammarMatcher(grammar, vocabulary);
        int thinkEnd = tokenizer.specialTokens().id(KimiMarkers.THINK_END).orElseThrow();
        int sectionBegin = tokenizer.specialTokens().id(KimiMarkers.TOOL_CALLS_BEGIN).orElseThrow();
        int[] ends = tokenizer.sequenceMarkers().eos();
        Random random = new Random(5);
        double[] trie = new double[STEPS];
        double[] scan = new double[STEPS];
        int step = 0;
        while (step < STEPS) {
            long start = System.nanoTime();
            int[] allowed = matcher.allowedTokens().ids();
            trie[step] = (System.nanoTime() - start) / 1e6;
            start = System.nanoTime();
            int[] scanned = IntStream.range(0, vocabulary.size()).filter(scanner::allows).toArray();
            scan[step] = (System.nanoTime() - start) / 1e6;
            assertArrayEquals(scanned, allowed, "step " + step);
            int token = step == 5 ? thinkEnd : step == 10 ? sectionBegin : allowed[random.nextInt(allowed.length)];
            boolean structural = token == thinkEnd || token == sectionBegin || Arrays.stream(ends).anyMatch(end -> end == token);
            int chosen = step < 10 && step != 5 && structural ? allowed[0] : token;
            assertTrue(matcher.accept(chosen) && scanner.accept(chosen));
            step++;
            if (Arrays.stream(ends).anyMatch(end -> end == chosen)) {
                break;
            }
        }
        assertTrue(step > 50, "the walk went deep into the call: " + step);
        return new double[][] {Arrays.copyOf(trie, step), Arrays.copyOf(scan, step)};
    }

    private static double percentile(double[] values, int percent) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(percent / 100.0 * sorted.length) - 1)];
    }
}
