package io.moefleet.attention;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * What the router knows of a sequence's cached positions: their tokens, and which of them a one-token chunk computed.
 * A one-token chunk takes the decode path (absorbed attention), a longer one the prefill path (expanded keys and
 * values): the two round differently, so the latents of later layers differ in their last bits. A sequence moved to
 * another instance recomputes its positions on the same path each had, to get the same latents and so the same tokens.
 * Positions restored from the KV pool at admission count as prefill positions (a prompt's). Not thread-safe.
 */
final class ComputedPositions {

    private int[] tokens = new int[64];
    private int length;
    private final BitSet decoded = new BitSet();   // positions a one-token chunk computed

    /** Positions {@code [0, count)} of {@code prompt}, restored at admission. */
    static ComputedPositions restored(int[] prompt, int count) {
        ComputedPositions positions = new ComputedPositions();
        positions.record(0, Arrays.copyOf(prompt, count));
        positions.decoded.clear();
        return positions;
    }

    int length() {
        return length;
    }

    /** A chunk at {@code start} was computed: positions from {@code start} on are its tokens (later ones are dropped). */
    void record(int start, int[] chunk) {
        if (start < 0 || start > length) {
            throw new IllegalArgumentException("a chunk at position " + start + " but " + length + " positions are recorded");
        }
        if (start + chunk.length > tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(tokens.length * 2, start + chunk.length));
        }
        System.arraycopy(chunk, 0, tokens, start, chunk.length);
        length = start + chunk.length;
        decoded.clear(start, Integer.MAX_VALUE);
        if (chunk.length == 1) {
            decoded.set(start);
        }
    }

    /** The tokens of positions {@code [0, end)}. */
    int[] tokensBefore(int end) {
        if (end > length) {
            throw new IllegalArgumentException("positions up to " + end + " asked but " + length + " are recorded");
        }
        return Arrays.copyOf(tokens, end);
    }

    /** A chunk to recompute: tokens at positions {@code [start, start + tokens.length)}. */
    record Chunk(int start, int[] tokens) {}

    /**
     * The chunks that recompute positions {@code [from, to)} (those before {@code from} being cached), each on the path
     * its positions had: each decode position alone, each run of prefill positions as one chunk. A prefill run cut to
     * one position by {@code from} starts a position earlier, still within the run (a chunk may start below the
     * cached length: it recomputes from there), since one token alone would take the decode path.
     */
    List<Chunk> recompute(int from, int to) {
        if (from < 0 || to > length) {
            throw new IllegalArgumentException("positions [" + from + ", " + to + ") asked but " + length + " are recorded");
        }
        List<Chunk> chunks = new ArrayList<>();
        int p = from;
        while (p < to) {
            if (decoded.get(p)) {
                chunks.add(new Chunk(p, new int[] {tokens[p]}));
                p++;
                continue;
            }
            int end = Math.min(decoded.nextSetBit(p) < 0 ? to : decoded.nextSetBit(p), to);
            int start = p;
            if (end - start == 1) {
                if (start > 0 && !decoded.get(start - 1)) {
                    start--;
                } else if (end < length && !decoded.get(end)) {
                    end++;   // the run goes on past 'to': recompute one more of its positions (the caller's chunk redoes it)
                } else {
                    throw new IllegalStateException("position " + p + " is a prefill position on its own: no chunk of one "
                            + "token computes it on the prefill path");
                }
            }
            chunks.add(new Chunk(start, Arrays.copyOfRange(tokens, start, end)));
            p = end;
        }
        return chunks;
    }
}
