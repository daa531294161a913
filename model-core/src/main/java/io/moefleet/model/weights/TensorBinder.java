package io.moefleet.model.weights;

import io.moefleet.model.CheckpointException;
import io.moefleet.model.Quantization;
import io.moefleet.model.safetensors.DType;
import io.moefleet.model.safetensors.TensorInfo;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Binds named tensors to the types the forward pass reads: a projection in whatever format it is stored (float, block
 * FP8 with its scales, packed integers with theirs), a float matrix, a 1-D vector; each checked against the shape the
 * config implies, the error naming the tensor and the config fields behind the expected shape.
 */
public final class TensorBinder {

    private final Function<String, TensorInfo> tensor;
    private final Predicate<String> exists;
    private final Function<TensorInfo, MemorySegment> resident;
    private final Quantization quantization;
    private final ModelWeights.LoadProgress progress;
    private final long totalBytes;
    private long doneBytes;

    /**
     * @param tensor the tensor of a name, or a {@link CheckpointException} naming the missing tensor
     * @param exists whether a tensor of that name exists
     * @param resident a weight matrix's bytes where the kernels are to read them ({@link Checkpoint#resident})
     */
    public TensorBinder(Function<String, TensorInfo> tensor, Predicate<String> exists,
            Function<TensorInfo, MemorySegment> resident, Quantization quantization, ModelWeights.LoadProgress progress,
            long totalBytes) {
        this.tensor = tensor;
        this.exists = exists;
        this.resident = resident;
        this.quantization = quantization;
        this.progress = progress;
        this.totalBytes = totalBytes;
    }

    /** A projection {@code prefix.weight} (or {@code prefix.weight_packed}) of [rows, cols] in any format the checkpoint stores it. */
    public Linear linear(String prefix, int rows, int cols, String shapeMeaning) {
        if (!exists.test(prefix + ".weight") && exists.test(prefix + ".weight_packed")) {
            return packed(prefix, rows, cols, shapeMeaning);
        }
        TensorInfo w = tensor.apply(prefix + ".weight");
        if (w.dtype() == DType.F8_E4M3) {
            checkShape(w, rows, cols, shapeMeaning);
            return fp8(prefix, w, rows, cols);
        }
        return matrix(prefix + ".weight", rows, cols, shapeMeaning);
    }

    /** A float matrix (embeddings, router, lm_head and unquantised projections). */
    public Linear matrix(String name, int rows, int cols, String shapeMeaning) {
        TensorInfo t = tensor.apply(name);
        if (!FloatCodec.isFloat(t.dtype())) {
            throw new CheckpointException("tensor " + t.describe() + " has dtype " + t.dtype() + "; expected BF16, F16, F32"
                    + (name.endsWith("_proj.weight") || name.endsWith("_mqa.weight") ? " or F8_E4M3 (with weight_scale_inv)" : ""));
        }
        checkShape(t, rows, cols, shapeMeaning);
        return new DenseLinear(resident(t), t.dtype(), rows, cols);
    }

    public float[] vector(String name, int length) {
        TensorInfo t = tensor.apply(name);
        touched(t);
        return FloatCodec.vector(t, length);
    }

    /** Reports the load complete (also when some tensors of the files were never bound). */
    public void finished() {
        progress.update(totalBytes, totalBytes);
    }

    private Linear fp8(String prefix, TensorInfo w, int rows, int cols) {
        if (!(quantization instanceof Quantization.Fp8Block(int blockRows, int blockCols))) {
            throw new CheckpointException("tensor " + w.describe() + " is F8_E4M3 but config.json has no fp8 quantization_config");
        }
        TensorInfo s = tensor.apply(prefix + ".weight_scale_inv");
        if (!FloatCodec.isFloat(s.dtype())) {
            throw new CheckpointException("tensor " + s.describe() + " must be F32 (or BF16/F16)");
        }
        checkShape(s, Math.ceilDiv(rows, blockRows), Math.ceilDiv(cols, blockCols),
                "ceil(rows/" + blockRows + ") x ceil(cols/" + blockCols + ") for weight_block_size");
        touched(s);
        return new Fp8BlockLinear(resident(w), FloatCodec.floats(s), rows, cols, blockRows, blockCols);
    }

    private Linear packed(String prefix, int rows, int cols, String shapeMeaning) {
        TensorInfo packed = tensor.apply(prefix + ".weight_packed");
        if (!(quantization instanceof Quantization.PackedInt(int bits, int groupSize))) {
            throw new CheckpointException("tensor " + packed.describe()
                    + " is pack-quantized but config.json has no compressed-tensors quantization_config");
        }
        TensorInfo scale = tensor.apply(prefix + ".weight_scale");
        TensorInfo shape = tensor.apply(prefix + ".weight_shape");
        if (packed.dtype() != DType.I32) {
            throw new CheckpointException("tensor " + packed.describe() + " must be I32");
        }
        if (!FloatCodec.isFloat(scale.dtype())) {
            throw new CheckpointException("tensor " + scale.describe() + " must be BF16, F16 or F32");
        }
        long[] declared = integers(shape);
        if (declared.length != 2 || declared[0] != rows || declared[1] != cols) {
            throw new CheckpointException("tensor " + shape.describe() + " holds " + Arrays.toString(declared)
                    + " but config.json implies [" + rows + ", " + cols + "] (" + shapeMeaning + ")");
        }
        checkShape(packed, rows, PackedIntLinear.wordsPerRow(cols, bits), shapeMeaning + ", " + (32 / bits) + " values per int32");
        checkShape(scale, rows, Math.ceilDiv(cols, groupSize), "rows x ceil(cols/group_size " + groupSize + ")");
        touched(scale);
        return new PackedIntLinear(resident(packed), FloatCodec.floats(scale), scale.dtype().bytes(), rows, cols, bits, groupSize);
    }

    private static long[] integers(TensorInfo t) {
        if ((t.dtype() != DType.I32 && t.dtype() != DType.I64) || t.shape().length != 1) {
            throw new CheckpointException("tensor " + t.describe() + " must be a 1-D I32 or I64 tensor");
        }
        long[] v = new long[(int) t.shape()[0]];
        for (int i = 0; i < v.length; i++) {
            v[i] = t.dtype() == DType.I32 ? t.data().get(FloatCodec.INT_LE, 4L * i) : t.data().get(FloatCodec.LONG_LE, 8L * i);
        }
        return v;
    }

    private static void checkShape(TensorInfo t, long rows, long cols, String meaning) {
        long[] s = t.shape();
        if (s.length != 2 || s[0] != rows || s[1] != cols) {
            throw new CheckpointException("tensor " + t.describe() + " disagrees with config.json, which implies ["
                    + rows + ", " + cols + "] (" + meaning + ")");
        }
    }

    /** A weight matrix's bytes where the kernels read them, read now; reports progress. */
    private MemorySegment resident(TensorInfo t) {
        MemorySegment data = resident.apply(t);
        touched(t);
        return data;
    }

    /** Reports a tensor read: one bound to a weight, or copied to the heap (vectors, scales) as it is bound. */
    private void touched(TensorInfo t) {
        doneBytes += t.data().byteSize();
        progress.update(doneBytes, totalBytes);
    }
}
