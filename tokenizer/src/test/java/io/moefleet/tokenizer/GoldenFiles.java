package io.moefleet.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** The golden test data copied from shared/golden into this module's test resources (see golden/README there). */
public final class GoldenFiles {

    private GoldenFiles() {}

    /** The tiny-k2 checkpoint's tokenizer files: tiktoken.model, tokenizer_config.json, config.json, generation_config.json. */
    public static Path tinyK2() {
        return resourceDirectory("/golden/tiny-k2");
    }

    /** {@code golden/cases/NAME.json}, e.g. {@code tokenizer} or {@code chat}. */
    public static JsonNode cases(String name) {
        return json("/golden/cases/" + name + ".json");
    }

    public static JsonNode json(String resource) {
        try (InputStream in = GoldenFiles.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("test resource " + resource + " is missing");
            }
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path resourceDirectory(String resource) {
        URL url = GoldenFiles.class.getResource(resource);
        if (url == null) {
            throw new IllegalStateException("test resource " + resource + " is missing");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static int[] ints(JsonNode array) {
        int[] values = new int[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asInt();
        }
        return values;
    }
}
