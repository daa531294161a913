package io.moefleet.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class ComputedPositionsTest {

    /** A prompt restored at admission (0..7), a prefill chunk (8..10), then three decode tokens (11, 12, 13). */
    private static ComputedPositions typical() {
        ComputedPositions positions = ComputedPositions.restored(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 8);
        positions.record(8, new int[] {9, 10, 11});
        positions.record(11, new int[] {20});
        positions.record(12, new int[] {21});
        positions.record(13, new int[] {22});
        return positions;
    }

    @Test
    void prefillRunsAreOneChunkAndDecodePositionsOneEach() {
        List<ComputedPositions.Chunk> chunks = typical().recompute(4, 14);

        assertEquals(4, chunks.size());
        assertChunk(chunks.get(0), 4, 5, 6, 7, 8, 9, 10, 11);   // restored and prefilled positions: the prefill path alike
        assertChunk(chunks.get(1), 11, 20);
        assertChunk(chunks.get(2), 12, 21);
        assertChunk(chunks.get(3), 13, 22);
    }

    @Test
    void aPrefillRunCutToOnePositionStartsOneEarlier() {
        // positions 0..10 prefill: restoring 10 of them leaves position 10 alone, which one token would put on the decode path
        List<ComputedPositions.Chunk> chunks = typical().recompute(10, 12);

        assertEquals(2, chunks.size());
        assertChunk(chunks.get(0), 9, 10, 11);
        assertChunk(chunks.get(1), 11, 20);
    }

    @Test
    void aChunkRecordedBelowTheLengthDropsTheLaterPositions() {
        ComputedPositions positions = typical();
        positions.record(12, new int[] {30, 31});

        assertEquals(14, positions.length());
        assertArrayEquals(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 20, 30, 31}, positions.tokensBefore(14));
        List<ComputedPositions.Chunk> chunks = positions.recompute(11, 14);
        assertEquals(2, chunks.size());
        assertChunk(chunks.get(0), 11, 20);
        assertChunk(chunks.get(1), 12, 30, 31);
    }

    @Test
    void aOneTokenPromptIsADecodePosition() {
        ComputedPositions positions = new ComputedPositions();
        positions.record(0, new int[] {42});
        positions.record(1, new int[] {43});

        List<ComputedPositions.Chunk> chunks = positions.recompute(0, 2);
        assertEquals(2, chunks.size());
        assertChunk(chunks.get(0), 0, 42);
        assertChunk(chunks.get(1), 1, 43);
    }

    @Test
    void positionsNotRecordedAreRefused() {
        ComputedPositions positions = typical();

        assertThrows(IllegalArgumentException.class, () -> positions.recompute(0, 15));
        assertThrows(IllegalArgumentException.class, () -> positions.tokensBefore(15));
        assertThrows(IllegalArgumentException.class, () -> positions.record(15, new int[] {1}));
    }

    private static void assertChunk(ComputedPositions.Chunk chunk, int start, int... tokens) {
        assertEquals(start, chunk.start(), "start");
        assertArrayEquals(tokens, chunk.tokens(), "tokens of the chunk at " + start);
    }
}
