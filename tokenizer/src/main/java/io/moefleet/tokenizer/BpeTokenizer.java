package io.moefleet.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Byte-level BPE with special tokens: the text is cut at special-token occurrences (when allowed), each piece in
 * between goes through the BPE core on its own, and ids map back to bytes through the vocabulary.
 */
final class BpeTokenizer implements TextTokenizer {

    private final OrdinaryEncoder core;
    private final SpecialTokens specials;
    private final Vocabulary vocabulary;
    private final SequenceMarkers markers;

    BpeTokenizer(OrdinaryEncoder core, SpecialTokens specials, Vocabulary vocabulary, SequenceMarkers markers) {
        this.core = core;
        this.specials = specials;
        this.vocabulary = vocabulary;
        this.markers = markers;
    }

    @Override
    public int[] encode(String text, boolean allowSpecial) {
        String clean = replaceLoneSurrogates(text);
        if (!allowSpecial) {
            return core.encode(clean);
        }
        List<int[]> parts = new ArrayList<>();
        int length = 0;
        for (SpecialTokens.Segment segment : specials.split(clean)) {
            int[] ids = segment.isSpecial() ? new int[] {segment.specialId()} : core.encode(segment.text());
            parts.add(ids);
            length += ids.length;
        }
        int[] all = new int[length];
        int at = 0;
        for (int[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    @Override
    public String decode(int[] ids) {
        return vocabulary.decode(ids);
    }

    @Override
    public byte[] tokenBytes(int id) {
        return vocabulary.bytes(id).clone();
    }

    @Override
    public int vocabSize() {
        return vocabulary.size();
    }

    @Override
    public SpecialTokens specialTokens() {
        return specials;
    }

    @Override
    public SequenceMarkers sequenceMarkers() {
        return markers;
    }

    @Override
    public void close() {
        core.close();
    }

    /** A lone surrogate has no UTF-8 form; like tiktoken, encode it as U+FFFD rather than as Java's '?'. */
    private static String replaceLoneSurrogates(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean paired = Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1));
            if (paired) {
                if (out != null) {
                    out.append(c).append(text.charAt(i + 1));
                }
                i++;
            } else if (Character.isSurrogate(c)) {
                if (out == null) {
                    out = new StringBuilder(text.length()).append(text, 0, i);
                }
                out.append('\uFFFD');
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? text : out.toString();
    }
}
