package io.moefleet.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The objects a fleet's spec renders to: here, the KV pool's members and their split-brain quorum. */
class DesiredFleetTest {

    private static List<String> kvArgs(Integer members) {
        MoeFleet fleet = new MoeFleet().metadata(new V1ObjectMeta().name("demo").namespace("ns").uid("u-1"));
        fleet.getSpec().experts.routedExperts = 32;
        fleet.getSpec().kvCache.members = members;
        V1StatefulSet kv = DesiredFleet.of(fleet, new FleetSize(2, 1), PlacementRollout.steady(
                io.moefleet.expert.ExpertPlacement.spread(32, 2, 1).toJson()), 1).stream()
                .filter(o -> o instanceof V1StatefulSet s && s.getMetadata().getName().equals("demo-kv"))
                .map(o -> (V1StatefulSet) o).findFirst().orElseThrow();
        if (members != null) {
            assertEquals(members, kv.getSpec().getReplicas());
        }
        return kv.getSpec().getTemplate().getSpec().getContainers().getFirst().getArgs();
    }

    @Test
    void theQuorumIsAMajorityOfThreeOrMoreMembersAndNoneBelow() {
        List<String> five = kvArgs(5);
        assertEquals("3", five.get(five.indexOf("--quorum") + 1));
        assertEquals(1, five.stream().filter("--quorum"::equals).count());
        assertFalse(kvArgs(1).contains("--quorum"), "one member has no quorum to keep");
        assertFalse(kvArgs(2).contains("--quorum"), "two members cannot tell a split from a loss");
        List<String> template = kvArgs(null);
        assertEquals("2", template.get(template.indexOf("--quorum") + 1), "the base's three members");
    }
}
