package io.moefleet.controller;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.expert.ExpertPlacement;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * What a fleet's router says about the fleet ({@code GET /v1/fleet/state}): the placement it routes by, the tokens it
 * has sent to each expert of each MoE layer since it started, and the sequences on each attention instance.
 */
public record RouterState(ExpertPlacement placement, SortedMap<Integer, long[]> load, List<Attention> attention) {

    /** An attention instance as the router sees it, in the order the router took them up (their pods' ordinals). */
    public record Attention(String address, boolean accepting, int sequences, long cachedPositions, long capacityPositions) {

        public Attention(String address, boolean accepting, int sequences) {
            this(address, accepting, sequences, 0, 0);
        }
    }

    /**
     * The fullest KV cache among the instances taking new sequences: cached positions over those that fit; null when
     * no instance reported its capacity.
     */
    public Double kvUsed() {
        return attention.stream().filter(a -> a.accepting() && a.capacityPositions() > 0)
                .map(a -> (double) a.cachedPositions() / a.capacityPositions()).max(Double::compare).orElse(null);
    }

    public RouterState(ExpertPlacement placement, SortedMap<Integer, long[]> load) {
        this(placement, load, List.of());
    }

    /** Reads the router's state, or null when the router cannot tell (not reachable, or not a fleet yet). */
    @FunctionalInterface
    public interface Source {
        RouterState read(MoeFleet fleet);
    }

    /** Over HTTP, at {@code stateUri(fleet)}. */
    public static Source over(Function<MoeFleet, URI> stateUri) {
        return over(stateUri, null);
    }

    /** Over HTTP, at {@code stateUri(fleet)}, asked with the API key {@code key} (null: none). */
    public static Source over(Function<MoeFleet, URI> stateUri, String key) {
        return fleet -> {
            URI uri = stateUri.apply(fleet);
            try {
                return parse(RouterHttp.get(uri, key));
            } catch (IOException | IllegalArgumentException e) {
                System.getLogger(RouterState.class.getName()).log(System.Logger.Level.WARNING, uri + ": " + e.getMessage());
                return null;
            }
        };
    }

    /** Inside the cluster: the fleet's router Service, asked with the API key {@code key} (null: none). */
    public static Source inCluster(int routerPort, String key) {
        return over(fleet -> URI.create("http://" + fleet.getMetadata().getName() + "-router." + fleet.getMetadata().getNamespace()
                + ".svc:" + routerPort + "/v1/fleet/state"), key);
    }

    static RouterState parse(String json) throws IOException {
        JsonNode state = new ObjectMapper().readTree(json);
        if (!"fleet".equals(state.path("mode").asText())) {
            return null;
        }
        ExpertPlacement placement = ExpertPlacement.parse(state.path("placement").toString());
        SortedMap<Integer, long[]> load = new TreeMap<>();
        for (Map.Entry<String, JsonNode> layer : state.path("expert_load").properties()) {
            long[] tokens = new long[layer.getValue().size()];
            for (int e = 0; e < tokens.length; e++) {
                tokens[e] = layer.getValue().get(e).asLong();
            }
            load.put(Integer.parseInt(layer.getKey()), tokens);
        }
        List<Attention> attention = new ArrayList<>();
        for (JsonNode instance : state.path("attention")) {
            attention.add(new Attention(instance.path("address").asText(), instance.path("accepting").asBoolean(),
                    instance.path("sequences").asInt(), instance.path("cached_positions").asLong(),
                    instance.path("kv_capacity_positions").asLong()));
        }
        return new RouterState(placement, load, List.copyOf(attention));
    }
}
