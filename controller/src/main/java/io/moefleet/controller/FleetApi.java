package io.moefleet.controller;

import io.kubernetes.client.common.KubernetesListObject;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.custom.V1Patch;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.CustomObjectsApi;
import io.kubernetes.client.openapi.models.CoreV1Event;
import io.kubernetes.client.openapi.models.V1EventSource;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1ObjectReference;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1ConfigMapList;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1DeploymentList;
import io.kubernetes.client.openapi.models.V1NetworkPolicy;
import io.kubernetes.client.openapi.models.V1NetworkPolicyList;
import io.kubernetes.client.openapi.models.V1PodDisruptionBudget;
import io.kubernetes.client.openapi.models.V1PodDisruptionBudgetList;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1ServiceList;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.openapi.models.V1StatefulSetList;
import io.kubernetes.client.util.PatchUtils;
import io.kubernetes.client.util.generic.GenericKubernetesApi;
import io.kubernetes.client.util.generic.KubernetesApiResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The controller's writes to the API server, one typed generic API per kind it manages. Replicas and data are changed
 * by JSON merge patches of the fields the controller owns, so whatever an overlay or an operator set elsewhere in an
 * object stays.
 */
public final class FleetApi {

    private final ApiClient client;
    private final GenericKubernetesApi<MoeFleet, MoeFleetList> fleets;
    private final Map<Class<?>, GenericKubernetesApi<?, ?>> apis = new LinkedHashMap<>();

    public FleetApi(ApiClient client) {
        this.client = client;
        this.fleets = new GenericKubernetesApi<>(MoeFleet.class, MoeFleetList.class, MoeFleet.GROUP, MoeFleet.VERSION,
                MoeFleet.PLURAL, client);
        register(V1StatefulSet.class, V1StatefulSetList.class, "apps", "v1", "statefulsets");
        register(V1Deployment.class, V1DeploymentList.class, "apps", "v1", "deployments");
        register(V1Service.class, V1ServiceList.class, "", "v1", "services");
        register(V1ConfigMap.class, V1ConfigMapList.class, "", "v1", "configmaps");
        register(V1PodDisruptionBudget.class, V1PodDisruptionBudgetList.class, "policy", "v1", "poddisruptionbudgets");
        register(V1NetworkPolicy.class, V1NetworkPolicyList.class, "networking.k8s.io", "v1", "networkpolicies");
    }

    private <T extends KubernetesObject, L extends KubernetesListObject> void register(Class<T> type, Class<L> list,
            String group, String version, String plural) {
        apis.put(type, new GenericKubernetesApi<>(type, list, group, version, plural, client));
    }

    /** The kinds of object a fleet has, in the order they are created. */
    public Iterable<Class<?>> kinds() {
        return apis.keySet();
    }

    public GenericKubernetesApi<MoeFleet, MoeFleetList> fleets() {
        return fleets;
    }

    @SuppressWarnings("unchecked")
    public <T extends KubernetesObject> GenericKubernetesApi<T, ?> api(Class<T> type) {
        GenericKubernetesApi<?, ?> api = apis.get(type);
        if (api == null) {
            throw new IllegalArgumentException("the controller does not manage " + type.getSimpleName());
        }
        return (GenericKubernetesApi<T, ?>) api;
    }

    @SuppressWarnings("unchecked")
    public <T extends KubernetesObject> T create(T object) throws ApiException {
        return check(api((Class<T>) object.getClass()).create(object), "create", object);
    }

    /** A JSON merge patch of {@code patchJson} onto the object of {@code type} called {@code name}. */
    public <T extends KubernetesObject> T mergePatch(Class<T> type, String namespace, String name, String patchJson) throws ApiException {
        KubernetesApiResponse<T> response = api(type).patch(namespace, name, V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH,
                new V1Patch(patchJson));
        if (!response.isSuccess()) {
            throw new ApiException(response.getHttpStatusCode(), "patch " + type.getSimpleName() + " " + namespace + "/" + name
                    + ": " + (response.getStatus() != null ? response.getStatus().getMessage() : "HTTP " + response.getHttpStatusCode()));
        }
        return response.getObject();
    }

    /**
     * Records {@code reason} and {@code message} as a Kubernetes Event on the fleet ({@code kubectl describe moefleet},
     * {@code kubectl get events}): what the controller changed and why.
     */
    public void event(MoeFleet fleet, String reason, String message, java.time.Instant now) throws ApiException {
        V1ObjectMeta meta = fleet.getMetadata();
        CoreV1Event event = new CoreV1Event().apiVersion("v1").kind("Event")
                .metadata(new V1ObjectMeta().namespace(meta.getNamespace())
                        .name(meta.getName() + "." + Long.toHexString(now.toEpochMilli()) + "." + Integer.toHexString(reason.hashCode())))
                .involvedObject(new V1ObjectReference().apiVersion(fleet.getApiVersion()).kind(fleet.getKind())
                        .namespace(meta.getNamespace()).name(meta.getName()).uid(meta.getUid()))
                .reason(reason)
                .message(message)
                .type("Normal")
                .count(1)
                .firstTimestamp(now.atOffset(java.time.ZoneOffset.UTC))
                .lastTimestamp(now.atOffset(java.time.ZoneOffset.UTC))
                .source(new V1EventSource().component("moefleet-controller"));
        new CoreV1Api(client).createNamespacedEvent(meta.getNamespace(), event).execute();
    }

    /**
     * Writes the fleet's status through its status subresource (the API server ignores status in writes of the
     * resource itself); {@code fleet} carries the resourceVersion it was read at, so a concurrent change fails the
     * write (409) and the reconcile runs again.
     */
    public MoeFleet updateStatus(MoeFleet fleet) throws ApiException {
        // a JSON patch: it tests the version first, and the fake API server of the tests serves it
        List<Map<String, Object>> patch = List.of(
                Map.of("op", "test", "path", "/metadata/resourceVersion", "value", fleet.getMetadata().getResourceVersion()),
                Map.of("op", "add", "path", "/status", "value", fleet.getStatus()));
        CustomObjectsApi custom = new CustomObjectsApi(client);
        return PatchUtils.patch(MoeFleet.class, () -> custom.patchNamespacedCustomObjectStatus(MoeFleet.GROUP, MoeFleet.VERSION,
                fleet.getMetadata().getNamespace(), MoeFleet.PLURAL, fleet.getMetadata().getName(), patch).buildCall(null),
                V1Patch.PATCH_FORMAT_JSON_PATCH, client);
    }

    private static <T extends KubernetesObject> T check(KubernetesApiResponse<T> response, String verb, KubernetesObject object)
            throws ApiException {
        if (!response.isSuccess()) {
            throw new ApiException(response.getHttpStatusCode(), verb + " " + object.getKind() + " "
                    + object.getMetadata().getNamespace() + "/" + object.getMetadata().getName() + ": "
                    + (response.getStatus() != null ? response.getStatus().getMessage() : "HTTP " + response.getHttpStatusCode()));
        }
        return response.getObject();
    }
}
