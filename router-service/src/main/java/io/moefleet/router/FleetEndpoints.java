package io.moefleet.router;

import io.moefleet.expert.ExpertPlacement;
import java.util.List;

/**
 * Where a running fleet's services listen: the attention instances, and the expert shards with the placement that
 * says which experts each holds.
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
}
