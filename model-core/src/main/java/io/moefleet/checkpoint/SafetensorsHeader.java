package io.moefleet.checkpoint;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The head of a safetensors file: the 8-byte little-endian header length, then the JSON header
 * (entries with offsets relative to the data start, in the order given) padded with spaces to a
 * multiple of 8 so that the data starts aligned.
 */
final class SafetensorsHeader {
    private SafetensorsHeader() {
    }

    static byte[] encode(List<StoredTensor> entries) {
        ObjectNode header = JsonNodeFactory.instance.objectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (StoredTensor entry : entries) {
            ObjectNode node = header.putObject(entry.name());
            node.put("dtype", entry.dtype().name());
            ArrayNode shape = node.putArray("shape");
            for (long d : entry.shape()) {
                shape.add(d);
            }
            node.putArray("data_offsets").add(offset).add(offset + entry.byteSize());
            offset += entry.byteSize();
        }
        if (header.size() != entries.size() + 1) {
            throw new IllegalArgumentException("duplicate tensor names in one safetensors file");
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer bytes = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(padded).put(json);
        while (bytes.hasRemaining()) {
            bytes.put((byte) ' ');
        }
        return bytes.array();
    }
}
