package io.moefleet.controller;

import io.kubernetes.client.common.KubernetesListObject;
import io.kubernetes.client.openapi.models.V1ListMeta;
import java.util.ArrayList;
import java.util.List;

/** A list of {@link MoeFleet}s, as the API server answers a list call. */
public final class MoeFleetList implements KubernetesListObject {

    private String apiVersion = MoeFleet.GROUP + "/" + MoeFleet.VERSION;
    private String kind = "MoeFleetList";
    private V1ListMeta metadata = new V1ListMeta();
    private List<MoeFleet> items = new ArrayList<>();

    @Override
    public V1ListMeta getMetadata() {
        return metadata;
    }

    @Override
    public List<MoeFleet> getItems() {
        return items;
    }

    @Override
    public String getApiVersion() {
        return apiVersion;
    }

    @Override
    public String getKind() {
        return kind;
    }
}
