package io.moefleet.benchmarks;

import io.moefleet.model.safetensors.DType;
import io.moefleet.model.weights.DenseLinear;
import io.moefleet.model.weights.Fp8BlockLinear;
import io.moefleet.model.weights.Linear;
import io.moefleet.model.weights.PackedIntLinear;
import io.moefleet.model.weights.Q8BlockLinear;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
 * One thread's product of a weight matrix with a batch of tokens, per storage format. Shapes: a Kimi K2 routed
 * expert's gate/up projection (2048 x 7168, 29 MB in BF16: beyond the L2, partly in L3) and the {@code small}
 * preset's (512 x 1024, in cache). Divide the matrix bytes by the time for GB/s; 2 x rows x cols x tokens for FLOP.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar} (JMH's command-line
 * {@code -jvmArgsAppend} replaces the fork arguments below: repeat {@code --add-modules jdk.incubator.vector} there).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow"})
public class KernelBenchmark {

    @Param({"BF16", "F32", "FP8", "INT4", "Q8"})
    public String format;

    @Param({"2048x7168", "512x1024"})
    public String shape;

    /** 4, 8 and 16: past the point where the dense BF16 kernel tiles four rows by four tokens (DenseLinear.TILES_FROM_TOKENS). */
    @Param({"1", "4", "8", "16"})
    public int tokens;

    private Arena arena;
    private Linear weights;
    private float[][] xs;
    private float[][] outs;

    @Setup(Level.Trial)
    public void setUp() {
        String[] dims = shape.split("x");
        int rows = Integer.parseInt(dims[0]);
        int cols = Integer.parseInt(dims[1]);
        arena = Arena.ofShared();
        SplittableRandom random = new SplittableRandom(1);
        weights = switch (format) {
            case "BF16" -> new DenseLinear(randomBytes(random, 2L * rows * cols), DType.BF16, rows, cols);
            case "F32" -> new DenseLinear(randomFloats(random, (long) rows * cols), DType.F32, rows, cols);
            case "FP8" -> new Fp8BlockLinear(randomBytes(random, (long) rows * cols),
                    scales(random, Math.ceilDiv(rows, 128) * Math.ceilDiv(cols, 128)), rows, cols, 128, 128);
            case "INT4" -> new PackedIntLinear(randomBytes(random, 4L * rows * PackedIntLinear.wordsPerRow(cols, 4)),
                    scales(random, rows * Math.ceilDiv(cols, 32)), 2, rows, cols, 4, 32);
            case "Q8" -> Q8BlockLinear.quantize(new DenseLinear(randomFloats(random, (long) rows * cols), DType.F32, rows, cols), arena);
            default -> throw new IllegalArgumentException(format);
        };
        xs = new float[tokens][cols];
        outs = new float[tokens][rows];
        for (float[] x : xs) {
            for (int c = 0; c < cols; c++) {
                x[c] = (float) random.nextGaussian();
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float[][] multiply() {
        weights.multiply(xs, 0, tokens, outs, 0, 0, weights.rows());
        return outs;
    }

    private MemorySegment randomBytes(SplittableRandom random, long bytes) {
        MemorySegment s = arena.allocate(bytes, 64);
        for (long i = 0; i + 8 <= bytes; i += 8) {
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong() & 0x3F3F3F3F3F3F3F3FL);   // finite BF16 / FP8 codes
        }
        return s;
    }

    private MemorySegment randomFloats(SplittableRandom random, long count) {
        MemorySegment s = arena.allocate(4 * count, 64);
        for (long i = 0; i < count; i++) {
            s.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4 * i, (float) random.nextGaussian());
        }
        return s;
    }

    private static float[] scales(SplittableRandom random, int n) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) {
            s[i] = (float) (0.001 + random.nextDouble() * 0.01);
        }
        return s;
    }
}
