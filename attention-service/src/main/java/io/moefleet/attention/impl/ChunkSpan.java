package io.moefleet.attention.impl;

/** One sequence's part of an Attend call: the router's sequence id and the positions {@code [start, start + tokens)}. */
public record ChunkSpan(long sequenceId, int start, int tokens) {

    public int end() {
        return start + tokens;
    }
}
