package io.moefleet.expert;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Optional;
import java.util.Set;

/**
 * A placement change in progress, as {@code rollout.json} beside {@code placement.json} gives it: shards with an index
 * below {@code shards_below} also hold the experts {@code also_hold} (a placement) gives them.
 * <pre>{@code
 * {"also_hold": {"routed_experts": 16, "shards": [[0, 1, 2, 3], ...]}, "shards_below": 2}
 * }</pre>
 * An empty file, {@code {}} or no file at all: no extra experts. The fleet controller writes it to roll a new placement
 * out while the router keeps serving: shards first load the next placement's experts a few at a time, then keep the
 * previous one's until the router has switched.
 */
public final class Rollout {

    /** The file's name, in the folder of {@code placement.json}. */
    public static final String FILE_NAME = "rollout.json";
    /** No rollout in progress: no extra experts. */
    public static final Rollout NONE = new Rollout(null, 0);

    private static final Set<String> FILE_FIELDS = Set.of("also_hold", "shards_below");

    private final ExpertPlacement alsoHold;   // null: none
    private final int shardsBelow;

    private Rollout(ExpertPlacement alsoHold, int shardsBelow) {
        this.alsoHold = alsoHold;
        this.shardsBelow = shardsBelow;
    }

    /** Shards {@code 0..shardsBelow-1} also hold what {@code alsoHold} gives them. */
    public static Rollout of(ExpertPlacement alsoHold, int shardsBelow) {
        if (shardsBelow < 0) {
            throw new IllegalArgumentException("\"shards_below\" cannot be negative, got " + shardsBelow);
        }
        return new Rollout(alsoHold, shardsBelow);
    }

    /** The rollout file beside {@code placementFile}. */
    public static Path beside(Path placementFile) {
        return placementFile.resolveSibling(FILE_NAME);
    }

    /** Reads a rollout file; a missing file is {@link #NONE}. Errors name the file and the offending field. */
    public static Rollout read(Path file) {
        String json;
        try {
            json = Files.readString(file);
        } catch (NoSuchFileException e) {
            return NONE;
        } catch (IOException e) {
            throw new IllegalArgumentException("rollout file " + file + " cannot be read: " + e.getMessage(), e);
        }
        try {
            return parse(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("rollout file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses the rollout file format (class comment); blank or {@code {}} is {@link #NONE}. */
    public static Rollout parse(String json) {
        if (json.isBlank()) {
            return NONE;
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("expected a JSON object with \"also_hold\" and \"shards_below\", or {} for none");
        }
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FILE_FIELDS.contains(name)) {
                throw new IllegalArgumentException("unknown field \"" + name + "\"; valid: also_hold, shards_below");
            }
        }
        if (root.isEmpty()) {
            return NONE;
        }
        JsonNode alsoHold = root.get("also_hold");
        JsonNode shardsBelow = root.get("shards_below");
        if (alsoHold == null || shardsBelow == null) {
            throw new IllegalArgumentException("give both \"also_hold\" and \"shards_below\" (or {} for no rollout)");
        }
        if (!shardsBelow.isIntegralNumber() || !shardsBelow.canConvertToInt() || shardsBelow.intValue() < 0) {
            throw new IllegalArgumentException("\"shards_below\" must be a whole number of at least 0, got " + shardsBelow);
        }
        ExpertPlacement placement;
        try {
            placement = ExpertPlacement.fromJson(alsoHold);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("also_hold: " + e.getMessage(), e);
        }
        return new Rollout(placement, shardsBelow.intValue());
    }

    /** The rollout file that reads back as this rollout ({@code {}} for none). */
    public String toJson() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        if (alsoHold != null) {
            try {
                root.set("also_hold", json.readTree(alsoHold.toJson()));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("a placement's own JSON does not read back", e);
            }
            root.put("shards_below", shardsBelow);
        }
        return root.toPrettyString();
    }

    /** Checks that {@code also_hold} fits {@code config} (as {@link ExpertPlacement#checkAgainst}). */
    public void checkAgainst(ModelConfig config) {
        if (alsoHold != null) {
            try {
                alsoHold.checkAgainst(config);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("also_hold: " + e.getMessage(), e);
            }
        }
    }

    /** The placement whose experts the shards below {@link #shardsBelow} also hold; empty for none. */
    public Optional<ExpertPlacement> alsoHold() {
        return Optional.ofNullable(alsoHold);
    }

    public int shardsBelow() {
        return shardsBelow;
    }

    /** Whether {@code shard} holds extra experts: it is below {@code shards_below} and {@code also_hold} has such a shard. */
    public boolean givesExtrasTo(int shard) {
        return alsoHold != null && shard < shardsBelow && shard < alsoHold.shards();
    }
}
