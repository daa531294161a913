package io.moefleet.grammar;

import io.moefleet.tokenizer.TextTokenizer;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * A vocabulary's token bytes arranged for mask computation, built once per tokenizer: the ordinary tokens in a trie,
 * laid out in preorder, so that a mask is one pass over the trie that follows the grammar automaton byte by byte and
 * skips every subtree whose prefix the grammar rejects. Special tokens stay out of the trie: they are symbols of their
 * own, allowed only where a grammar places them. Immutable and thread-safe.
 */
public final class TokenVocabulary {

    private final byte[][] bytesById;
    private final BitSet specialIds;
    // the trie, one entry per node in preorder (children in byte order); the root is implicit at depth 0
    private final byte[] label;
    private final int[] depth;
    private final int[] subtreeEnd;        // the index just past the node's subtree
    private final int[] firstToken;        // a token whose bytes end at the node, or -1
    private final int[] nextSameBytes;     // by token id: another token with the same bytes, or -1
    private final int maxDepth;

    private TokenVocabulary(byte[][] bytesById, BitSet specialIds) {
        this.bytesById = bytesById;
        this.specialIds = (BitSet) specialIds.clone();
        Integer[] ordinary = IntStream.range(0, bytesById.length)
                .filter(id -> bytesById[id] != null && bytesById[id].length > 0 && !specialIds.get(id))
                .boxed()
                .sorted(Comparator.comparing((Integer id) -> bytesById[id], Arrays::compareUnsigned).thenComparing(id -> id))
                .toArray(Integer[]::new);
        int nodes = countNodes(ordinary, bytesById);
        label = new byte[nodes];
        depth = new int[nodes];
        subtreeEnd = new int[nodes];
        firstToken = new int[nodes];
        nextSameBytes = new int[bytesById.length];
        Arrays.fill(firstToken, -1);
        Arrays.fill(nextSameBytes, -1);
        maxDepth = Arrays.stream(ordinary).mapToInt(id -> bytesById[id].length).max().orElse(0);
        build(ordinary, bytesById);
    }

    /** The ordinary and special tokens of a tokenizer; ids it leaves unassigned are never allowed. */
    public static TokenVocabulary of(TextTokenizer tokenizer) {
        byte[][] bytesById = new byte[tokenizer.vocabSize()][];
        BitSet specials = new BitSet();
        for (int id = 0; id < bytesById.length; id++) {
            if (tokenizer.specialTokens().isSpecial(id)) {
                specials.set(id);
                continue;
            }
            try {
                bytesById[id] = tokenizer.tokenBytes(id);
            } catch (IllegalArgumentException unassigned) {
                bytesById[id] = null;
            }
        }
        return new TokenVocabulary(bytesById, specials);
    }

    /** @param bytesById each token's bytes by id ({@code null}: no such token); special ids are symbols, not bytes */
    public static TokenVocabulary of(byte[][] bytesById, BitSet specialIds) {
        byte[][] copy = new byte[bytesById.length][];
        for (int id = 0; id < copy.length; id++) {
            copy[id] = bytesById[id] == null ? null : bytesById[id].clone();
        }
        return new TokenVocabulary(copy, specialIds);
    }

    /** One more than the largest token id. */
    public int size() {
        return bytesById.length;
    }

    boolean isSpecial(int tokenId) {
        return specialIds.get(tokenId);
    }

    /** An ordinary token's bytes, or null for an id that is special, unassigned or out of range. */
    byte[] ordinaryBytes(int tokenId) {
        return tokenId < 0 || tokenId >= bytesById.length || specialIds.get(tokenId) ? null : bytesById[tokenId];
    }

    /** The trie's node count: the work bound of one mask. */
    public int trieNodes() {
        return label.length;
    }

    /** Sets, in {@code allowed}, every ordinary token whose bytes the automaton accepts from {@code state}. */
    void collectOrdinary(GrammarAutomaton automaton, GrammarState state, BitSet allowed) {
        GrammarState[] stateAtDepth = new GrammarState[maxDepth + 1];
        stateAtDepth[0] = state;
        int node = 0;
        while (node < label.length) {
            GrammarState next = automaton.afterByte(stateAtDepth[depth[node] - 1], label[node] & 0xFF);
            if (next == GrammarState.DEAD) {
                node = subtreeEnd[node];
                continue;
            }
            stateAtDepth[depth[node]] = next;
            for (int token = firstToken[node]; token >= 0; token = nextSameBytes[token]) {
                allowed.set(token);
            }
            node++;
        }
    }

    private static int countNodes(Integer[] sorted, byte[][] bytesById) {
        int nodes = 0;
        byte[] previous = new byte[0];
        for (int id : sorted) {
            byte[] bytes = bytesById[id];
            nodes += bytes.length - commonPrefix(previous, bytes);
            previous = bytes;
        }
        return nodes;
    }

    /** Sorted byte strings give the trie in preorder: each adds the nodes past its common prefix with the one before. */
    private void build(Integer[] sorted, byte[][] bytesById) {
        int[] pathNode = new int[maxDepth + 1];        // the node at each depth on the path of the previous token
        int[] lastTokenAt = new int[label.length];
        int pathLength = 0;
        int count = 0;
        byte[] previous = new byte[0];
        for (int id : sorted) {
            byte[] bytes = bytesById[id];
            int shared = commonPrefix(previous, bytes);
            for (int d = pathLength; d > shared; d--) {
                subtreeEnd[pathNode[d]] = count;
            }
            for (int d = shared + 1; d <= bytes.length; d++) {
                label[count] = bytes[d - 1];
                depth[count] = d;
                pathNode[d] = count++;
            }
            pathLength = bytes.length;
            int node = pathNode[bytes.length];
            if (firstToken[node] < 0) {
                firstToken[node] = id;
            } else {
                nextSameBytes[lastTokenAt[node]] = id;
            }
            lastTokenAt[node] = id;
            previous = bytes;
        }
        for (int d = pathLength; d >= 1; d--) {
            subtreeEnd[pathNode[d]] = count;
        }
    }

    private static int commonPrefix(byte[] a, byte[] b) {
        int mismatch = Arrays.mismatch(a, b);
        return mismatch < 0 ? a.length : mismatch;
    }
}
