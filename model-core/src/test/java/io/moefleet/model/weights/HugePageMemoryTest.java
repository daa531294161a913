package io.moefleet.model.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.GoldenData;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.safetensors.TensorInfo;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Weights copied onto huge pages: the same bytes, aligned, in memory advised for huge pages, freed with the arena; a
 * checkpoint's matrices come from there, not from the file mapping.
 */
class HugePageMemoryTest {

    @Test
    void thereIsHugePageMemoryWhereTheSystemHasTransparentHugePages() throws IOException {
        Path mode = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        boolean available = Files.exists(mode) && !Files.readString(mode).contains("[never]");
        try (Arena arena = Arena.ofShared()) {
            assertEquals(available, HugePageMemory.open(arena).isPresent(), "transparent huge pages: " + (Files.exists(mode) ? Files.readString(mode).strip() : "none"));
        }
    }

    @Test
    void copiesAreTheSameBytesAlignedOnAdvisedPagesAndFreedWithTheArena() throws IOException {
        Optional<HugePageMemory> probe = HugePageMemory.open(Arena.ofAuto());
        if (probe.isEmpty()) {
            return;   // no huge pages here: the first test has checked that this is right
        }
        SplittableRandom random = new SplittableRandom(3);
        List<MemorySegment> sources = List.of(randomBytes(random, 1000), randomBytes(random, 3 << 20), randomBytes(random, 300 << 20),
                randomBytes(random, 64));
        MemorySegment[] copies = new MemorySegment[sources.size()];
        Arena arena = Arena.ofShared();
        HugePageMemory memory = HugePageMemory.open(arena).orElseThrow();
        for (int i = 0; i < copies.length; i++) {
            copies[i] = memory.copyOf(sources.get(i));
            assertEquals(-1L, sources.get(i).mismatch(copies[i]), "copy " + i + " differs from its source");
            assertEquals(0, copies[i].address() % 64, "copy " + i + " is not 64-byte aligned");
        }
        // the 300 MB copy needed a mapping of its own, which starts on a 2 MB boundary
        assertEquals(0, copies[2].address() % (2 << 20));
        String flags = vmFlags(copies[1].address());
        assertTrue(flags.contains(" hg"), "the mapping holding a copy is not advised for huge pages (VmFlags:" + flags + ")");
        arena.close();
        assertThrows(IllegalStateException.class, () -> copies[0].get(ValueLayout.JAVA_BYTE, 0));
        assertFalse(vmFlags(copies[1].address()).contains(" hg"), "the copies' mapping is still there after the arena closed");
    }

    /** Copies stop where they and the heap's ceiling would pass nine tenths of the memory the process may use. */
    @Test
    void copiesLeaveRoomForTheHeapWithinTheMemoryLimit() throws IOException {
        long machine = 0;
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemTotal:")) {
                machine = 1024 * Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        long limit = HugePageMemory.memoryLimit();
        assertTrue(limit > 0 && limit <= machine, "limit " + limit + " against the machine's " + machine);
        long room = (long) (0.9 * limit) - Runtime.getRuntime().maxMemory();
        assertTrue(HugePageMemory.hasRoomFor(1 << 20), "1 MB with " + room + " bytes of room");
        assertFalse(HugePageMemory.hasRoomFor(room + 1), "past the room: the copies, the heap and " + (room + 1) + " bytes");
    }

    @Test
    void aCheckpointsMatricesAreReadFromTheirCopies() {
        try (Checkpoint checkpoint = Checkpoint.open(GoldenData.checkpoint("tiny-k2"))) {
            TensorInfo t = checkpoint.tensor("model.layers.0.self_attn.o_proj.weight");
            MemorySegment resident = checkpoint.resident(t);
            assertEquals(-1L, t.data().mismatch(resident));
            assertEquals(HugePageMemory.open(Arena.ofAuto()).isEmpty(), resident.isMapped(),
                    "a copy where there are huge pages, the file mapping where there are none");
            if (!resident.isMapped()) {
                assertFalse(resident.address() >= t.data().address()
                        && resident.address() < t.data().address() + t.data().byteSize());
            }
        }
    }

    /** Weights left in the file (a router's attention and routed experts) compute what copied ones do, bit for bit. */
    @Test
    void weightsLeftInTheFileComputeWhatCopiedOnesDo() {
        int[] tokens = java.util.Arrays.copyOf(GoldenData.forwardCase("tiny-k2").prompt(), 12);
        float[][] copied = logits(c -> ModelWeights.load(c), tokens);
        float[][] inFile = logits(c -> ModelWeights.load(c, ModelWeights.LoadProgress.NONE,
                name -> !name.contains(".self_attn.") && !name.contains(".mlp.experts.")), tokens);
        for (int r = 0; r < copied.length; r++) {
            assertEquals(-1, java.util.Arrays.mismatch(copied[r], inFile[r]), "position " + r);
        }
    }

    private static float[][] logits(java.util.function.Function<Checkpoint, ModelWeights> load, int[] tokens) {
        try (Checkpoint c = Checkpoint.open(GoldenData.checkpoint("tiny-k2"))) {
            Transformer model = new Transformer(c.config(), load.apply(c));
            return model.step(List.of(new StepChunk(model.newSequence(), 0, tokens, true))).getFirst();
        }
    }

    private static MemorySegment randomBytes(SplittableRandom random, long size) {
        MemorySegment s = Arena.ofAuto().allocate(size);
        for (long i = 0; i < size; i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        }
        return s;
    }

    /** The VmFlags of the mapping holding {@code address} in /proc/self/smaps, or "" when no mapping holds it. */
    private static String vmFlags(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        boolean inside = false;
        for (String line : lines) {
            String first = line.split(" ", 2)[0];
            if (first.matches("[0-9a-f]+-[0-9a-f]+")) {
                String[] range = first.split("-");
                inside = Long.parseUnsignedLong(range[0], 16) <= address && address < Long.parseUnsignedLong(range[1], 16);
            } else if (inside && line.startsWith("VmFlags:")) {
                return line.substring("VmFlags:".length());
            }
        }
        return "";
    }
}
