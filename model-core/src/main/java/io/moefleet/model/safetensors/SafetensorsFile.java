package io.moefleet.model.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.moefleet.model.CheckpointException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file, memory-mapped whole through FFM (no 2 GB limit) and checked before any tensor is read:
 * the header length fits the file, the header is a JSON object of well-formed entries, every dtype is known,
 * every tensor's byte range matches its shape, lies inside the data area and overlaps no other tensor.
 */
public final class SafetensorsFile {

    /** Headers of real checkpoints are well under a megabyte; this bounds what a corrupt length can make us allocate. */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final Path path;
    private final Map<String, TensorInfo> tensors;

    private SafetensorsFile(Path path, Map<String, TensorInfo> tensors) {
        this.path = path;
        this.tensors = tensors;
    }

    /** Maps {@code path} into {@code arena}; the tensors stay readable until the arena closes. */
    public static SafetensorsFile open(Path path, Arena arena) {
        MemorySegment file;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            file = size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (NoSuchFileException e) {
            throw new CheckpointException("missing safetensors file " + path);
        } catch (IOException e) {
            throw new CheckpointException("cannot map " + path + ": " + e.getMessage(), e);
        }
        String name = path.getFileName().toString();
        return new SafetensorsFile(path, parse(file, name));
    }

    public Path path() {
        return path;
    }

    /** Tensors in header order, by name. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    static Map<String, TensorInfo> parse(MemorySegment file, String name) {
        long size = file.byteSize();
        if (size < 8) {
            throw new CheckpointException(name + ": truncated safetensors file (" + size + " bytes, the 8-byte header length is missing)");
        }
        long headerLength = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8) {
            throw new CheckpointException(name + ": header length " + Long.toUnsignedString(headerLength)
                    + " does not fit the file of " + size + " bytes (truncated or not a safetensors file)");
        }
        byte[] headerBytes = file.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header;
        try {
            header = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new CheckpointException(name + ": header is not valid JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
        }
        if (header == null || !header.isObject()) {
            throw new CheckpointException(name + ": header must be a JSON object");
        }
        long dataStart = 8 + headerLength;
        long dataSize = size - dataStart;
        MemorySegment data = file.asSlice(dataStart, dataSize);

        List<Entry> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals("__metadata__")) {
                if (!field.getValue().isObject()) {
                    throw new CheckpointException(name + ": __metadata__ must be an object");
                }
                continue;
            }
            entries.add(entry(name, field.getKey(), field.getValue(), dataSize));
        }
        checkNoOverlap(name, entries);

        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Entry e : entries) {
            tensors.put(e.tensor, new TensorInfo(e.tensor, e.dtype, e.shape, data.asSlice(e.begin, e.end - e.begin), name));
        }
        return Collections.unmodifiableMap(tensors);
    }

    private record Entry(String tensor, DType dtype, long[] shape, long begin, long end) {}

    private static Entry entry(String file, String tensor, JsonNode e, long dataSize) {
        String where = file + ": tensor '" + tensor + "'";
        if (!e.isObject()) {
            throw new CheckpointException(where + ": header entry must be an object");
        }
        JsonNode dtypeNode = e.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new CheckpointException(where + ": missing dtype");
        }
        DType dtype = DType.byName(dtypeNode.asText());
        if (dtype == null) {
            throw new CheckpointException(where + ": unknown dtype '" + dtypeNode.asText() + "' (known: " + DType.names() + ")");
        }
        JsonNode shapeNode = e.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new CheckpointException(where + ": missing shape");
        }
        long[] shape = new long[shapeNode.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToExactIntegral() || !d.canConvertToLong() || d.asLong() < 0) {
                throw new CheckpointException(where + ": shape " + shapeNode + " must be non-negative integers");
            }
            shape[i] = d.asLong();
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException overflow) {
                throw new CheckpointException(where + ": shape " + shapeNode + " overflows");
            }
        }
        JsonNode offsets = e.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2
                || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()
                || !offsets.get(0).canConvertToExactIntegral() || !offsets.get(1).canConvertToExactIntegral()) {
            throw new CheckpointException(where + ": data_offsets must be [begin, end]");
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw new CheckpointException(where + ": data_offsets [" + begin + ", " + end + "] are not an ordered byte range");
        }
        if (end > dataSize) {
            throw new CheckpointException(where + ": data_offsets [" + begin + ", " + end + "] run past the end of the data ("
                    + dataSize + " bytes; file truncated?)");
        }
        long expected;
        try {
            expected = Math.multiplyExact(elements, (long) dtype.bytes());
        } catch (ArithmeticException overflow) {
            throw new CheckpointException(where + ": shape " + shapeNode + " overflows");
        }
        if (end - begin != expected) {
            throw new CheckpointException(where + ": " + (end - begin) + " bytes at data_offsets [" + begin + ", " + end
                    + "] but " + dtype + " " + shapeNode + " needs " + expected);
        }
        return new Entry(tensor, dtype, shape, begin, end);
    }

    private static void checkNoOverlap(String file, List<Entry> entries) {
        List<Entry> byBegin = new ArrayList<>(entries);
        byBegin.removeIf(e -> e.begin == e.end);
        byBegin.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < byBegin.size(); i++) {
            Entry prev = byBegin.get(i - 1);
            Entry cur = byBegin.get(i);
            if (cur.begin < prev.end) {
                throw new CheckpointException(file + ": tensors '" + prev.tensor + "' [" + prev.begin + ", " + prev.end
                        + ") and '" + cur.tensor + "' [" + cur.begin + ", " + cur.end + ") overlap");
            }
        }
    }
}
