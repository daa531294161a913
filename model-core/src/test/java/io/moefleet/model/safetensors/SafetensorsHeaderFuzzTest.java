package io.moefleet.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.moefleet.model.CheckpointException;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Map;

/**
 * Any bytes as a safetensors file: they parse into tensors that lie inside the file and match their shapes, or fail
 * with a {@link CheckpointException} naming the file. Parsed from memory, as {@link SafetensorsFile#open} parses the
 * file it maps.
 */
class SafetensorsHeaderFuzzTest {

    private static final String NAME = "fuzz.safetensors";

    @FuzzTest(maxDuration = "5s")
    @DictionaryEntries({"{\"", "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"BF16\"", "\"F8_E4M3\"",
            "\"F32\"", "\"I32\"", ": [", "], "})
    void anyBytesParseOrFailNamingTheFile(byte[] input) {
        Map<String, TensorInfo> tensors;
        try {
            tensors = SafetensorsFile.parse(MemorySegment.ofArray(input), NAME);
        } catch (CheckpointException e) {
            assertTrue(e.getMessage() != null && e.getMessage().startsWith(NAME + ": "), () -> "the error names the file: " + e.getMessage());
            return;
        }
        long dataSize = input.length - 8 - headerLength(input);
        long bytes = 0;
        for (TensorInfo tensor : tensors.values()) {
            assertEquals(tensor.elementCount() * tensor.dtype().bytes(), tensor.data().byteSize(), tensor::describe);
            assertTrue(Arrays.stream(tensor.shape()).allMatch(d -> d >= 0), tensor::describe);
            bytes += tensor.data().byteSize();
        }
        assertTrue(bytes <= dataSize, () -> "tensors of " + tensors.size() + " hold more bytes than the data area");
    }

    private static long headerLength(byte[] input) {
        long length = 0;
        for (int i = 7; i >= 0; i--) {
            length = length << 8 | (input[i] & 0xFF);
        }
        return length;
    }
}
