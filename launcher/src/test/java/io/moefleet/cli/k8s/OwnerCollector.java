package io.moefleet.cli.k8s;

import io.kubernetes.client.common.KubernetesListObject;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1OwnerReference;
import io.kubernetes.client.util.generic.GenericKubernetesApi;
import io.moefleet.controller.FleetApi;
import io.moefleet.controller.MoeFleet;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The stand-in for Kubernetes' garbage collector: deletes the objects whose owning {@code MoeFleet} is gone (their
 * owner reference names a uid no fleet has), as the real one does in the background; the fake API server does not.
 */
final class OwnerCollector {

    private final FleetApi api;
    private final String namespace;

    OwnerCollector(FleetApi api, String namespace) {
        this.api = api;
        this.namespace = namespace;
    }

    /** One pass; returns the names of the objects deleted. */
    List<String> collect() throws ApiException {
        Set<String> fleets = api.fleets().list(namespace).throwsApiException().getObject().getItems().stream()
                .map(fleet -> fleet.getMetadata().getUid()).collect(Collectors.toSet());
        List<String> deleted = new ArrayList<>();
        for (Class<?> kind : api.kinds()) {
            for (KubernetesObject object : list(kind)) {
                List<V1OwnerReference> owners = object.getMetadata().getOwnerReferences();
                boolean orphaned = owners != null && owners.stream()
                        .anyMatch(o -> MoeFleet.KIND.equals(o.getKind()) && !fleets.contains(o.getUid()));
                if (orphaned) {
                    delete(kind, object.getMetadata().getName());
                    deleted.add(object.getKind() + "/" + object.getMetadata().getName());
                }
            }
        }
        return deleted;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private List<KubernetesObject> list(Class<?> kind) throws ApiException {
        GenericKubernetesApi generic = api.api((Class) kind);
        KubernetesListObject list = (KubernetesListObject) generic.list(namespace).throwsApiException().getObject();
        return new ArrayList<>(list.getItems());
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private void delete(Class<?> kind, String name) throws ApiException {
        GenericKubernetesApi generic = api.api((Class) kind);
        generic.delete(namespace, name).throwsApiException();
    }
}
