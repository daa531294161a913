package io.moefleet.router;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.expert.ExpertPlacement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Where a running fleet's services listen: the attention instances, and the expert shards with the placement that
 * says which experts each holds.
 *
 * <p>On Kubernetes the fleet controller writes them into a folder the router reads ({@link #read}):
 * {@code endpoints.json}, {@code {"attention": ["host:port", ...], "experts": ["host:port", ...]}} with expert shard
 * s at index s, and {@code placement.json}, the placement file of {@link ExpertPlacement}.
 */
public record FleetEndpoints(List<String> attentionAddresses, ExpertPlacement placement, List<String> expertAddresses) {

    public FleetEndpoints {
        attentionAddresses = List.copyOf(attentionAddresses);
        expertAddresses = List.copyOf(expertAddresses);
        if (attentionAddresses.isEmpty()) {
            throw new IllegalArgumentException("a fleet needs at least one attention instance");
        }
        if (expertAddresses.size() != placement.shards()) {
            throw new IllegalArgumentException("the placement has " + placement.shards() + " shards, but "
                    + expertAddresses.size() + " expert addresses were given");
        }
    }

    public static final String ENDPOINTS_FILE = "endpoints.json";
    public static final String PLACEMENT_FILE = "placement.json";

    /** Reads {@code endpoints.json} and {@code placement.json} from {@code folder}; errors name the file and the entry. */
    public static FleetEndpoints read(Path folder) {
        Path endpoints = folder.resolve(ENDPOINTS_FILE);
        ExpertPlacement placement = ExpertPlacement.read(folder.resolve(PLACEMENT_FILE));
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(endpoints));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(endpoints + " is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new IllegalArgumentException(endpoints + " cannot be read: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(endpoints + ": expected an object with \"attention\" and \"experts\"");
        }
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!Set.of("attention", "experts").contains(name)) {
                throw new IllegalArgumentException(endpoints + ": unknown field \"" + name + "\"; valid: attention, experts");
            }
        }
        List<String> attention = addresses(root, "attention", endpoints);
        List<String> experts = addresses(root, "experts", endpoints);
        try {
            return new FleetEndpoints(attention, placement, experts);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(endpoints + " and " + PLACEMENT_FILE + ": " + e.getMessage(), e);
        }
    }

    private static List<String> addresses(JsonNode root, String field, Path file) {
        JsonNode list = root.get(field);
        if (list == null || !list.isArray()) {
            throw new IllegalArgumentException(file + ": \"" + field + "\" must be an array of \"host:port\" strings");
        }
        List<String> addresses = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String address = list.get(i).isTextual() ? list.get(i).asText() : "";
            int colon = address.lastIndexOf(':');
            if (colon <= 0 || !address.substring(colon + 1).matches("[0-9]{1,5}")) {
                throw new IllegalArgumentException(file + ": " + field + "[" + i + "] must be \"host:port\", got " + list.get(i));
            }
            addresses.add(address);
        }
        return addresses;
    }
}
