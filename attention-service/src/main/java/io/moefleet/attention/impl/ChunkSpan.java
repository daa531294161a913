package io.moefleet.attention.impl;

import java.util.Arrays;

/**
 * One sequence's part of an Attend call: the router's sequence id, the first position, and the chunk's token ids
 * (positions {@code [start, start + tokenIds.length)}). Equal when all three are, token ids by content.
 */
public record ChunkSpan(long sequenceId, int start, int[] tokenIds) {

    public int tokens() {
        return tokenIds.length;
    }

    public int end() {
        return start + tokenIds.length;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ChunkSpan span && span.sequenceId == sequenceId && span.start == start
                && Arrays.equals(span.tokenIds, tokenIds);
    }

    @Override
    public int hashCode() {
        return (Long.hashCode(sequenceId) * 31 + start) * 31 + Arrays.hashCode(tokenIds);
    }

    @Override
    public String toString() {
        return "ChunkSpan[sequence " + Long.toUnsignedString(sequenceId) + ", [" + start + ", " + end() + ")]";
    }
}
