package io.moefleet.expert;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Which expert shard holds which routed experts. One layout serves every MoE layer unless a placement file gives a
 * layer its own. Each expert is held by one or more shards (its replicas), listed in ascending shard order.
 *
 * <p>The even rule ({@link #spread}): write the routed experts {@code 0..E-1} out R times in a row (E·R slots, replica
 * r of expert e in slot {@code r·E + e}) and cut the row into N contiguous runs whose lengths differ by at most one:
 * shard s takes slots {@code [⌊s·E·R/N⌋, ⌊(s+1)·E·R/N⌋)}. With one replica a shard holds a contiguous range of experts;
 * since no run is longer than E when R ≤ N, an expert's replicas always land on distinct shards.
 *
 * <p>The placement file (JSON), for plans made elsewhere (re-planning hot experts):
 * <pre>{@code
 * {
 *   "routed_experts": 16,
 *   "shards": [[0, 1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15], [0, 2, 4, 6]],
 *   "layers": {"3": [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15]]}
 * }
 * }</pre>
 * {@code shards[s]} lists the routed experts shard s holds in every MoE layer; {@code layers} (optional) replaces that
 * list for the MoE layers it names, with one entry per shard again. Every expert must be held by at least one shard in
 * every layer, no shard may list an expert twice, and every shard must hold something.
 */
public final class ExpertPlacement {

    private static final Set<String> FILE_FIELDS = Set.of("routed_experts", "shards", "layers");

    private final int routedExperts;
    private final Layout common;
    private final SortedMap<Integer, Layout> layers;

    private ExpertPlacement(int routedExperts, Layout common, SortedMap<Integer, Layout> layers) {
        this.routedExperts = routedExperts;
        this.common = common;
        this.layers = layers;
        for (int s = 0; s < shards(); s++) {
            int shard = s;
            if (common.expertsOf(shard).length == 0 && layers.values().stream().allMatch(l -> l.expertsOf(shard).length == 0)) {
                throw new IllegalArgumentException("shard " + shard + " holds no experts");
            }
        }
    }

    /** {@code shards} shards, each routed expert on {@code replicas} distinct shards, by the even rule. */
    public static ExpertPlacement spread(int routedExperts, int shards, int replicas) {
        if (routedExperts < 1) {
            throw new IllegalArgumentException("the model has no routed experts to place");
        }
        if (shards < 1 || replicas < 1) {
            throw new IllegalArgumentException("shards and replicas must be at least 1, got " + shards + " shard(s) and "
                    + replicas + " replica(s)");
        }
        if (replicas > shards) {
            throw new IllegalArgumentException(replicas + " replicas need at least " + replicas
                    + " shards (an expert's replicas sit on distinct shards), got " + shards);
        }
        long slots = (long) routedExperts * replicas;
        if (shards > slots) {
            throw new IllegalArgumentException(shards + " shards are more than the " + routedExperts + " experts x " + replicas
                    + " replica(s) to place: some shards would hold nothing");
        }
        List<List<Integer>> held = new ArrayList<>();
        for (int s = 0; s < shards; s++) {
            List<Integer> experts = new ArrayList<>();
            for (long slot = slots * s / shards; slot < slots * (s + 1) / shards; slot++) {
                experts.add((int) (slot % routedExperts));
            }
            held.add(experts);
        }
        return new ExpertPlacement(routedExperts, Layout.of(routedExperts, held, "the even rule"), new TreeMap<>());
    }

    /** As few shards as hold at most {@code perShard} experts each, with {@code replicas} replicas, by the even rule. */
    public static ExpertPlacement withExpertsPerShard(int routedExperts, int perShard, int replicas) {
        if (perShard < 1 || perShard > routedExperts) {
            throw new IllegalArgumentException("experts per shard must be between 1 and the model's " + routedExperts
                    + " routed experts, got " + perShard);
        }
        if (replicas < 1) {
            throw new IllegalArgumentException("replicas must be at least 1, got " + replicas);
        }
        long shards = ((long) routedExperts * replicas + perShard - 1) / perShard;
        return spread(routedExperts, Math.toIntExact(shards), replicas);
    }

    /**
     * A placement from explicit shard lists, as a placement file would give them: {@code shards.get(s)} is what shard s
     * holds in every MoE layer, {@code layers} replaces that for the layers it names (the same number of shards each).
     * For plans made in code ({@link BalancedPlacement}); the same checks as {@link #parse}.
     */
    public static ExpertPlacement of(int routedExperts, List<List<Integer>> shards, SortedMap<Integer, List<List<Integer>>> layers) {
        if (routedExperts < 1) {
            throw new IllegalArgumentException("the model has no routed experts to place");
        }
        if (shards.isEmpty()) {
            throw new IllegalArgumentException("a placement needs at least one shard");
        }
        Layout common = Layout.of(routedExperts, shards, "shards");
        SortedMap<Integer, Layout> perLayer = new TreeMap<>();
        layers.forEach((layer, lists) -> {
            String where = "layers.\"" + layer + "\"";
            if (layer < 0) {
                throw new IllegalArgumentException(where + ": a layer index cannot be negative");
            }
            Layout layout = Layout.of(routedExperts, lists, where);
            if (layout.shards() != common.shards()) {
                throw new IllegalArgumentException(where + " lists " + layout.shards() + " shards but \"shards\" lists "
                        + common.shards() + ": every layer is served by the same shards");
            }
            perLayer.put(layer, layout);
        });
        return new ExpertPlacement(routedExperts, common, perLayer);
    }

    /** Reads a placement file (format in the class comment); errors name the file and the offending entry. */
    public static ExpertPlacement read(Path file) {
        String json;
        try {
            json = Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("placement file " + file + " cannot be read: " + e.getMessage(), e);
        }
        try {
            return parse(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("placement file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses the placement file format. */
    public static ExpertPlacement parse(String json) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage());
        }
        return fromJson(root);
    }

    /** The placement file format, already read as JSON (a placement inside another file: {@link Rollout}). */
    static ExpertPlacement fromJson(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("expected a JSON object with \"routed_experts\" and \"shards\"");
        }
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FILE_FIELDS.contains(name)) {
                throw new IllegalArgumentException("unknown field \"" + name + "\"; valid: routed_experts, shards, layers");
            }
        }
        JsonNode experts = root.get("routed_experts");
        if (experts == null || !experts.canConvertToInt() || !experts.isIntegralNumber() || experts.intValue() < 1) {
            throw new IllegalArgumentException("\"routed_experts\" must be a positive whole number");
        }
        int routedExperts = experts.intValue();
        Layout common = Layout.of(routedExperts, shardLists(root.get("shards"), "shards"), "shards");
        SortedMap<Integer, Layout> layers = new TreeMap<>();
        JsonNode perLayer = root.get("layers");
        if (perLayer != null) {
            if (!perLayer.isObject()) {
                throw new IllegalArgumentException("\"layers\" must be an object from layer index to shard lists");
            }
            for (Map.Entry<String, JsonNode> entry : perLayer.properties()) {
                String where = "layers.\"" + entry.getKey() + "\"";
                int layer;
                try {
                    layer = Integer.parseInt(entry.getKey());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(where + ": a layer index must be a whole number");
                }
                if (layer < 0) {
                    throw new IllegalArgumentException(where + ": a layer index cannot be negative");
                }
                Layout layout = Layout.of(routedExperts, shardLists(entry.getValue(), where), where);
                if (layout.shards() != common.shards()) {
                    throw new IllegalArgumentException(where + " lists " + layout.shards() + " shards but \"shards\" lists "
                            + common.shards() + ": every layer is served by the same shards");
                }
                layers.put(layer, layout);
            }
        }
        return new ExpertPlacement(routedExperts, common, layers);
    }

    private static List<List<Integer>> shardLists(JsonNode node, String where) {
        if (node == null || !node.isArray() || node.isEmpty()) {
            throw new IllegalArgumentException(where + " must be a non-empty array with one list of experts per shard");
        }
        List<List<Integer>> shards = new ArrayList<>();
        for (int s = 0; s < node.size(); s++) {
            JsonNode list = node.get(s);
            if (!list.isArray()) {
                throw new IllegalArgumentException(where + "[" + s + "] must be an array of expert indices");
            }
            List<Integer> experts = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                JsonNode expert = list.get(i);
                if (!expert.isIntegralNumber() || !expert.canConvertToInt()) {
                    throw new IllegalArgumentException(where + "[" + s + "][" + i + "]: expected an expert index, got " + expert);
                }
                experts.add(expert.intValue());
            }
            shards.add(experts);
        }
        return shards;
    }

    /** The placement file that reads back as this placement. */
    public String toJson() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("routed_experts", routedExperts);
        root.set("shards", common.toJson(json));
        if (!layers.isEmpty()) {
            ObjectNode perLayer = root.putObject("layers");
            layers.forEach((layer, layout) -> perLayer.set(Integer.toString(layer), layout.toJson(json)));
        }
        return root.toPrettyString();
    }

    /** Checks that this placement fits {@code config}: the same number of routed experts, layers given their own layout are MoE layers. */
    public void checkAgainst(ModelConfig config) {
        if (config.nRoutedExperts() != routedExperts) {
            throw new IllegalArgumentException("the placement is for " + routedExperts + " routed experts but the model has "
                    + config.nRoutedExperts());
        }
        for (int layer : layers.keySet()) {
            if (layer >= config.numHiddenLayers() || !config.isMoeLayer(layer)) {
                throw new IllegalArgumentException("the placement gives layer " + layer + " its own layout but the model's "
                        + "layer " + layer + " is not an MoE layer (" + config.numHiddenLayers() + " layers, first_k_dense_replace "
                        + config.firstKDenseReplace() + ")");
            }
        }
    }

    public int shards() {
        return common.shards();
    }

    public int routedExperts() {
        return routedExperts;
    }

    /** How many shards hold {@code expert} in {@code layer}. */
    public int replicas(int layer, int expert) {
        return layout(layer).holders[expert].length;
    }

    /** The shard holding replica {@code replica} of {@code expert} in {@code layer} (replicas in ascending shard order). */
    public int shardOf(int layer, int expert, int replica) {
        return layout(layer).holders[expert][replica];
    }

    public boolean holds(int shard, int layer, int expert) {
        return layout(layer).held[shard][expert];
    }

    /** The experts {@code shard} holds in {@code layer}, ascending. */
    public int[] expertsOf(int shard, int layer) {
        return layout(layer).expertsOf(shard);
    }

    /** The layers given a layout of their own ({@code layers} in the file); every other layer follows {@code shards}. */
    public SortedSet<Integer> layersWithOwnLayout() {
        return Collections.unmodifiableSortedSet(new TreeSet<>(layers.keySet()));
    }

    /** The experts {@code shard} holds in the layers without a layout of their own, ascending. */
    public int[] commonExpertsOf(int shard) {
        return common.expertsOf(shard);
    }

    private Layout layout(int layer) {
        return layers.getOrDefault(layer, common);
    }

    /** One layer's placement: which shards hold each expert, and its inverse. */
    private static final class Layout {
        private final int[][] holders;   // [expert] -> shards, ascending
        private final boolean[][] held;  // [shard][expert]

        private Layout(int[][] holders, boolean[][] held) {
            this.holders = holders;
            this.held = held;
        }

        static Layout of(int routedExperts, List<List<Integer>> shardExperts, String where) {
            boolean[][] held = new boolean[shardExperts.size()][routedExperts];
            int[] copies = new int[routedExperts];
            for (int s = 0; s < shardExperts.size(); s++) {
                for (int expert : shardExperts.get(s)) {
                    if (expert < 0 || expert >= routedExperts) {
                        throw new IllegalArgumentException(where + "[" + s + "]: expert " + expert + " is outside [0, "
                                + routedExperts + ")");
                    }
                    if (held[s][expert]) {
                        throw new IllegalArgumentException(where + "[" + s + "]: expert " + expert + " is listed twice");
                    }
                    held[s][expert] = true;
                    copies[expert]++;
                }
            }
            int[][] holders = new int[routedExperts][];
            for (int e = 0; e < routedExperts; e++) {
                if (copies[e] == 0) {
                    throw new IllegalArgumentException(where + ": expert " + e + " is held by no shard");
                }
                holders[e] = new int[copies[e]];
                for (int s = 0, i = 0; s < held.length; s++) {
                    if (held[s][e]) {
                        holders[e][i++] = s;
                    }
                }
            }
            return new Layout(holders, held);
        }

        int shards() {
            return held.length;
        }

        int[] expertsOf(int shard) {
            int[] experts = new int[held[shard].length];
            int n = 0;
            for (int e = 0; e < experts.length; e++) {
                if (held[shard][e]) {
                    experts[n++] = e;
                }
            }
            return Arrays.copyOf(experts, n);
        }

        ArrayNode toJson(ObjectMapper json) {
            ArrayNode shards = json.createArrayNode();
            for (int s = 0; s < shards(); s++) {
                ArrayNode experts = shards.addArray();
                for (int e : expertsOf(s)) {
                    experts.add(e);
                }
            }
            return shards;
        }
    }
}
