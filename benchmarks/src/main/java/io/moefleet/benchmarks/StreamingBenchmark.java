package io.moefleet.benchmarks;

import io.moefleet.engine.MemoryBandwidth;
import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.safetensors.DType;
import io.moefleet.model.weights.DenseLinear;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * BF16 products streamed from DRAM on the workers, as batched decode runs them, beside a plain read sweep of the same
 * bytes: how fast a product of n tokens reads its weights, against what the machine can read. A 512 MB matrix
 * (beyond any cache) with the {@code small} preset's expert width; {@code tokens} is the number of a step's tokens
 * that share the product (a routed expert's at batch 16 is mostly 1 to 4, {@code lm_head}'s 16).
 * GB/s = 537 / (ms per operation).
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar StreamingBenchmark}
 * ({@code -p threads=2} for the bench's default).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow"})
public class StreamingBenchmark {

    private static final int COLS = 1024;
    private static final int ROWS = 256 * 1024;          // 512 MB of BF16

    @Param({"2"})
    public int threads;

    @Param({"1", "2", "3", "4", "8", "16"})
    public int tokens;

    private Arena arena;
    private Workers workers;
    private MatMul matMul;
    private MemorySegment bytes;
    private DenseLinear weights;
    private float[][] xs;
    private float[][] outs;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        bytes = arena.allocate(2L * ROWS * COLS, 64);
        SplittableRandom random = new SplittableRandom(1);
        for (long i = 0; i + 8 <= bytes.byteSize(); i += 8) {
            bytes.set(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong() & 0x3F3F3F3F3F3F3F3FL);   // finite BF16
        }
        weights = new DenseLinear(bytes, DType.BF16, ROWS, COLS);
        workers = new Workers(threads);
        matMul = new MatMul(workers);
        xs = new float[tokens][COLS];
        outs = new float[tokens][ROWS];
        for (float[] x : xs) {
            for (int c = 0; c < COLS; c++) {
                x[c] = (float) random.nextGaussian();
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        workers.close();
        arena.close();
    }

    @Benchmark
    public float[][] product() {
        matMul.multiply(weights, xs, tokens, outs);
        return outs;
    }

    /** The same bytes read with nothing computed: the ceiling {@code ./fleet bench} sets decode against. */
    @Benchmark
    public float readSweep() {
        return MemoryBandwidth.read(workers, bytes);
    }
}
