package io.moefleet.model.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Reads a safetensors file into its header and data bytes, so a test can damage either and write it back. */
final class SafetensorsSurgery {

    private static final ObjectMapper JSON = new ObjectMapper();

    final ObjectNode header;
    byte[] data;

    private SafetensorsSurgery(ObjectNode header, byte[] data) {
        this.header = header;
        this.data = data;
    }

    static SafetensorsSurgery read(Path file) {
        try {
            byte[] all = Files.readAllBytes(file);
            int n = (int) ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            ObjectNode header = (ObjectNode) JSON.readTree(new String(all, 8, n, StandardCharsets.UTF_8));
            return new SafetensorsSurgery(header, Arrays.copyOfRange(all, 8 + n, all.length));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    ObjectNode entry(String tensor) {
        return (ObjectNode) header.get(tensor);
    }

    void write(Path file) {
        writeRaw(file, header.toString().getBytes(StandardCharsets.UTF_8), data);
    }

    static void writeRaw(Path file, byte[] header, byte[] data) {
        ByteBuffer out = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(header.length).put(header).put(data);
        try {
            Files.write(file, out.array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
