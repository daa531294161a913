package io.moefleet.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.StreamSupport;

/** The golden checkpoints and cases (made by an independent implementation), copied into the test resources. */
public final class GoldenData {

    private GoldenData() {}

    public static Path root() {
        try {
            return Path.of(GoldenData.class.getResource("/golden/README.md").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Path checkpoint(String name) {
        return root().resolve(name);
    }

    /** A forward-pass case: {@code cases/<name>.json} and its logits. */
    public record Case(String name, Path model, int[] prompt, int[] greedy, int[] inputIds, float[][] logits) {}

    public static Case forwardCase(String name) {
        try {
            JsonNode json = new ObjectMapper().readTree(root().resolve("cases/" + name + ".json").toFile());
            int[] inputIds = ints(json.path("logits").path("input_ids"));
            int vocab = json.path("logits").path("shape").get(1).asInt();
            ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(root().resolve(json.path("logits").path("file").asText())))
                    .order(ByteOrder.LITTLE_ENDIAN);
            float[][] logits = new float[inputIds.length][vocab];
            for (float[] row : logits) {
                bytes.asFloatBuffer().get(row);
                bytes.position(bytes.position() + 4 * vocab);
            }
            return new Case(name, checkpoint(json.path("model").asText()), ints(json.path("prompt")), ints(json.path("greedy")),
                    inputIds, logits);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static int[] ints(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }
}
