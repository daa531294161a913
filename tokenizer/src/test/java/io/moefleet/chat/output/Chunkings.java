package io.moefleet.chat.output;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Ways to cut a stream into the pieces a parser receives, generated one at a time. Of a token stream: whole, token by
 * token, every single cut, and for streams short enough every cut pattern inside each window of consecutive
 * boundaries (so every marker meets every local split around it) and every pair of cuts; then random cuts. Of a text:
 * the same over its characters.
 */
final class Chunkings {

    private static final int WINDOW = 6;
    private static final int MAX_PIECES_FOR_PAIRS = 160;
    private static final int MAX_PIECES_FOR_WINDOWS = 400;
    private static final int RANDOM = 100;

    private Chunkings() {}

    /** Hands every chunking of a token stream (each chunk joins consecutive token texts) to {@code check}. */
    static void forEach(List<String> pieces, Consumer<List<String>> check) {
        int boundaries = pieces.size() - 1;
        check.accept(List.of(String.join("", pieces)));
        check.accept(pieces);
        for (int cut = 0; cut < boundaries; cut++) {
            check.accept(join(pieces, cuts(boundaries, cut)));
        }
        if (pieces.size() <= MAX_PIECES_FOR_WINDOWS) {
            for (int start = 0; start + WINDOW <= boundaries || start == 0; start++) {
                int width = Math.min(WINDOW, boundaries - start);
                for (int mask = 1; mask < 1 << width; mask++) {
                    boolean[] cuts = new boolean[boundaries];
                    for (int bit = 0; bit < width; bit++) {
                        cuts[start + bit] = (mask >> bit & 1) != 0;
                    }
                    check.accept(join(pieces, cuts));
                }
            }
        }
        if (pieces.size() <= MAX_PIECES_FOR_PAIRS) {
            for (int first = 0; first < boundaries; first++) {
                for (int second = first + 1; second < boundaries; second++) {
                    check.accept(join(pieces, cuts(boundaries, first, second)));
                }
            }
        }
        Random random = new Random(pieces.size());
        for (int i = 0; i < RANDOM; i++) {
            boolean[] cuts = new boolean[Math.max(0, boundaries)];
            for (int b = 0; b < boundaries; b++) {
                cuts[b] = random.nextInt(3) == 0;
            }
            check.accept(join(pieces, cuts));
        }
    }

    /** Hands every chunking of a text, cut at code-point boundaries, to {@code check}. */
    static void forEachOfText(String text, Consumer<List<String>> check) {
        forEach(text.codePoints().mapToObj(Character::toString).toList(), check);
    }

    private static boolean[] cuts(int boundaries, int... at) {
        boolean[] cuts = new boolean[boundaries];
        for (int cut : at) {
            cuts[cut] = true;
        }
        return cuts;
    }

    private static List<String> join(List<String> pieces, boolean[] cuts) {
        List<String> chunks = new ArrayList<>();
        StringBuilder chunk = new StringBuilder();
        for (int i = 0; i < pieces.size(); i++) {
            chunk.append(pieces.get(i));
            if (i == pieces.size() - 1 || cuts[i]) {
                chunks.add(chunk.toString());
                chunk.setLength(0);
            }
        }
        return chunks;
    }
}
