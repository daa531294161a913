package io.moefleet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.compute.Lanes;
import io.moefleet.model.compute.Workers;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class MemoryBandwidthTest {

    @Test
    void aSweepReadsEveryFloatOfTheBufferOnceOverAllThreads() {
        int floats = 3 * 4 * Lanes.F.length() * 64;
        try (Workers workers = new Workers(3); Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(4L * floats, 64);
            for (int i = 0; i < floats; i++) {
                buffer.setAtIndex(ValueLayout.JAVA_FLOAT, i, i % 7 == 0 ? 2f : 1f);   // small integers: every order of sums is exact
            }
            float expected = 0;
            for (int i = 0; i < floats; i++) {
                expected += i % 7 == 0 ? 2f : 1f;
            }
            assertEquals(expected, MemoryBandwidth.read(workers, buffer));
        }
    }

    @Test
    void aBufferThatDoesNotSplitIntoWholeVectorGroupsPerThreadIsRefused() {
        try (Workers workers = new Workers(2); Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(3L * 4 * Lanes.F.vectorByteSize(), 64);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MemoryBandwidth.read(workers, buffer));
            assertTrue(e.getMessage().contains("2 parts"), e.getMessage());
        }
    }
}
