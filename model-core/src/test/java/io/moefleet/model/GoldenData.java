package io.moefleet.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/** The golden checkpoints and cases (made by an independent implementation), copied into the test resources. */
public final class GoldenData {

    private static Path extracted;

    private GoldenData() {}

    /**
     * The golden folder: in place when the resources are a directory; when they are inside the test jar (another
     * module's tests) copied out once to a temporary folder, because checkpoints are memory-mapped files.
     */
    public static synchronized Path root() {
        try {
            URI readme = GoldenData.class.getResource("/golden/README.md").toURI();
            if (!readme.getScheme().equals("jar")) {
                return Path.of(readme).getParent();
            }
            if (extracted == null) {
                extracted = extract(readme);
            }
            return extracted;
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path extract(URI readmeInJar) throws IOException {
        Path target = Files.createTempDirectory("moefleet-golden-");
        try (FileSystem jar = FileSystems.newFileSystem(readmeInJar, Map.of());
             Stream<Path> files = Files.walk(jar.getPath("/golden"))) {
            for (Path source : (Iterable<Path>) files::iterator) {
                Path copy = target.resolve(jar.getPath("/golden").relativize(source).toString());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(copy);
                } else {
                    Files.copy(source, copy);
                }
            }
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(target)));
        return target;
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary folder left behind is harmless
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
