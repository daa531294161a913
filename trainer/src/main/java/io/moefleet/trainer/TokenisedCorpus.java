package io.moefleet.trainer;

import io.moefleet.tokenizer.TextTokenizer;
import java.util.List;
import java.util.stream.IntStream;

/** Training and held-out text as token ids of the checkpoint's own tokenizer, each document opened by the bos id. */
public record TokenisedCorpus(int[] train, int[] heldOut) {

    public static TokenisedCorpus of(BrownCorpus.Split split, TextTokenizer tokenizer, int bos) {
        return new TokenisedCorpus(tokens(split.train(), tokenizer, bos), tokens(split.heldOut(), tokenizer, bos));
    }

    private static int[] tokens(List<String> documents, TextTokenizer tokenizer, int bos) {
        return documents.stream()
                .flatMapToInt(d -> IntStream.concat(IntStream.of(bos), IntStream.of(tokenizer.encode(d, false))))
                .toArray();
    }
}
