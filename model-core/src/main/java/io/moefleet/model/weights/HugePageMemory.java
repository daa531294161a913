package io.moefleet.model.weights;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Anonymous memory on 2 MB pages (Linux transparent huge pages, asked for with {@code madvise}), handed out in slices
 * (zeroed, never reused) and unmapped when its arena closes. Weights streamed from here decode faster than from the
 * checkpoint's file mapping on 4 KB pages: the hardware prefetchers stop at every page edge and each 4 KB page costs a
 * TLB miss (measured here: a BF16 matrix streams about 15-20% faster). Where the system gives no huge pages, there is
 * none of it.
 */
public final class HugePageMemory implements SegmentAllocator {

    private static final long HUGE_PAGE = 2L << 20;
    /** Reserved per mapping: pages are only backed when written, so the unused end of the last chunk costs no memory. */
    private static final long CHUNK = 256L << 20;
    private static final long TENSOR_ALIGNMENT = 64;

    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final int MADV_HUGEPAGE = 14;

    /** Bytes handed out by every instance in this process and not yet freed: what {@link #hasRoomFor} counts. */
    private static final AtomicLong HANDED_OUT = new AtomicLong();
    /** The share of the process's memory limit that the heap's ceiling and the copies may fill together. */
    private static final double MEMORY_SHARE = 0.9;

    /** The libc calls, where this system gives huge pages at all: bound once per process. */
    private static final Optional<Native> LIBC = Native.load().filter(libc -> transparentHugePagesOn());

    private final Arena arena;
    private final Native libc;
    private MemorySegment chunk = MemorySegment.NULL;
    private long used;
    private AtomicLong chunkHandedOut = new AtomicLong();   // the current chunk's share of HANDED_OUT

    private HugePageMemory(Arena arena, Native libc) {
        this.arena = arena;
        this.libc = libc;
    }

    /**
     * Huge-page memory freed with {@code arena}, or empty where there is none to have: not Linux, transparent huge
     * pages off ({@code never}), or the {@code fleet.hugepages} system property {@code false}.
     */
    static Optional<HugePageMemory> open(Arena arena) {
        if (!Boolean.parseBoolean(System.getProperty("fleet.hugepages", "true"))) {
            return Optional.empty();
        }
        return LIBC.map(libc -> new HugePageMemory(arena, libc));
    }

    /**
     * Huge-page memory freed with {@code arena} where there is any, else {@code arena} itself: where weights are kept,
     * and what a bandwidth sweep that stands for reading them must read.
     */
    public static SegmentAllocator preferred(Arena arena) {
        return open(arena).<SegmentAllocator>map(memory -> memory).orElse(arena);
    }

    /** A copy of {@code source} on huge pages, 64-byte aligned. */
    MemorySegment copyOf(MemorySegment source) {
        MemorySegment copy = allocate(source.byteSize(), TENSOR_ALIGNMENT);
        MemorySegment.copy(source, 0, copy, 0, source.byteSize());
        return copy;
    }

    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        if (byteAlignment <= 0 || byteAlignment > HUGE_PAGE || Long.bitCount(byteAlignment) != 1) {
            throw new IllegalArgumentException("alignment " + byteAlignment + ": a power of two up to 2 MB");
        }
        long start = (used + byteAlignment - 1) & -byteAlignment;
        if (chunk.byteSize() < start + byteSize) {
            AtomicLong handedOut = new AtomicLong();
            chunk = libc.map(Math.max(CHUNK, byteSize), arena, () -> HANDED_OUT.addAndGet(-handedOut.get()));
            chunkHandedOut = handedOut;
            start = 0;
        }
        used = start + byteSize;
        chunkHandedOut.addAndGet(byteSize);
        HANDED_OUT.addAndGet(byteSize);
        return chunk.asSlice(start, byteSize);
    }

    /**
     * Whether {@code bytes} more fit, with every copy so far and the heap's ceiling, in nine tenths of the memory this
     * process may use (its cgroup's limit, else the machine's). Past that, weights had better stay in the file's
     * mapping, whose pages the kernel can evict, than get a container killed for its memory.
     */
    static boolean hasRoomFor(long bytes) {
        long limit = memoryLimit();
        return HANDED_OUT.get() + bytes + Runtime.getRuntime().maxMemory() <= (long) (MEMORY_SHARE * limit);
    }

    /** The least of the cgroup's memory limit (v2, then v1) and the machine's memory; unbounded when none is readable. */
    static long memoryLimit() {
        long limit = Long.MAX_VALUE;
        limit = Math.min(limit, number(Path.of("/sys/fs/cgroup/memory.max")));
        limit = Math.min(limit, number(Path.of("/sys/fs/cgroup/memory/memory.limit_in_bytes")));
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    limit = Math.min(limit, 1024 * Long.parseLong(line.replaceAll("[^0-9]", "")));
                }
            }
        } catch (IOException | RuntimeException e) {
            // no /proc/meminfo: the cgroup's figure, or none
        }
        return limit;
    }

    /** The number in a one-line file; unbounded for "max", a missing file or anything else. */
    private static long number(Path file) {
        try {
            return Long.parseLong(Files.readString(file).strip());
        } catch (IOException | RuntimeException e) {
            return Long.MAX_VALUE;
        }
    }

    private static boolean transparentHugePagesOn() {
        try {
            String mode = Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"));
            return !mode.contains("[never]");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The three libc calls, bound once. */
    private record Native(MethodHandle mmap, MethodHandle madvise, MethodHandle munmap) {

        static Optional<Native> load() {
            if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
                return Optional.empty();
            }
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                return Optional.of(new Native(
                        linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                                ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG)),
                        linker.downcallHandle(libc.find("madvise").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT)),
                        linker.downcallHandle(libc.find("munmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG))));
            } catch (RuntimeException e) {   // no native access allowed, or no such symbols
                return Optional.empty();
            }
        }

        /**
         * {@code size} bytes starting on a huge-page boundary, advised onto huge pages before anything touches them
         * (pages faulted in first would stay small), unmapped when {@code arena} closes (then {@code onUnmap} runs).
         */
        MemorySegment map(long size, Arena arena, Runnable onUnmap) {
            long reserved = size + HUGE_PAGE;
            try {
                MemorySegment raw = (MemorySegment) mmap.invokeExact(MemorySegment.NULL, reserved, PROT_READ_WRITE,
                        MAP_PRIVATE_ANONYMOUS, -1, 0L);
                if (raw.address() == -1L) {
                    throw new OutOfMemoryError("mmap of " + reserved + " bytes for weights failed");
                }
                long skip = -raw.address() & (HUGE_PAGE - 1);
                MemorySegment aligned = MemorySegment.ofAddress(raw.address() + skip);
                // refused (an old kernel): still ordinary anonymous memory, as fast as the mapping
                int ignored = (int) madvise.invokeExact(aligned.reinterpret(size), size, MADV_HUGEPAGE);
                return aligned.reinterpret(size, arena, unused -> {
                    unmap(raw, reserved);
                    onUnmap.run();
                });
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("mmap for weights", t);
            }
        }

        private void unmap(MemorySegment raw, long reserved) {
            try {
                int ignored = (int) munmap.invokeExact(raw, reserved);
            } catch (Throwable t) {
                throw new IllegalStateException("munmap of weights", t);
            }
        }
    }
}
