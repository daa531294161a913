package io.moefleet.controller;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1OwnerReference;
import io.kubernetes.client.openapi.models.V1PodSpec;
import io.kubernetes.client.openapi.models.V1ResourceRequirements;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import io.kubernetes.client.openapi.models.V1Toleration;
import io.kubernetes.client.openapi.models.V1Volume;
import io.kubernetes.client.util.Yaml;
import io.moefleet.expert.Rollout;
import java.util.ArrayList;
import java.util.List;

/**
 * The objects a {@link MoeFleet} should have, as the controller creates them: the base's templates for that fleet,
 * with the spec's image, checkpoint, sizes and pod settings, the replicas of {@link FleetSize}, the fleet's
 * configuration files (placement, endpoints, roll-out), and an owner reference to the fleet on each, so that deleting the fleet
 * deletes them (Kubernetes' garbage collector).
 */
public final class DesiredFleet {

    static final String FLEET_CONFIG_SUFFIX = "-fleet";
    static final int EXPERT_PORT = 50051;
    static final int ATTENTION_PORT = 50061;

    private DesiredFleet() {}

    /**
     * The fleet's objects for {@code size} expert shards and attention instances, with the configuration files of
     * {@code config} (the placement, where the router finds the services, a roll-out in progress) listing the first
     * {@code attentionListed} attention instances for new sequences.
     */
    static List<KubernetesObject> of(MoeFleet fleet, FleetSize size, PlacementRollout.Step config, int attentionListed) {
        String name = fleet.getMetadata().getName();
        MoeFleet.Spec spec = fleet.getSpec();
        List<KubernetesObject> objects = new ArrayList<>();
        for (KubernetesObject object : FleetTemplates.forFleet(name)) {
            String component = component(object);
            switch (object) {
                case V1StatefulSet set when "expert".equals(component) -> {
                    set.getSpec().setReplicas(size.shards());
                    pods(set.getSpec().getTemplate().getSpec(), spec, spec.experts.resources);
                    if (spec.experts.nodeSelector != null) {
                        set.getSpec().getTemplate().getSpec().setNodeSelector(spec.experts.nodeSelector);
                    }
                    if (spec.experts.tolerations != null) {
                        set.getSpec().getTemplate().getSpec().setTolerations(convert(spec.experts.tolerations, V1Toleration.class));
                    }
                }
                case V1StatefulSet set when "attention".equals(component) -> {
                    set.getSpec().setReplicas(size.attentionInstances());
                    pods(set.getSpec().getTemplate().getSpec(), spec, spec.attention.resources);
                }
                case V1StatefulSet set when "kv-cache".equals(component) -> {
                    V1Container member = set.getSpec().getTemplate().getSpec().getContainers().getFirst();
                    if (spec.kvCache.members != null) {
                        set.getSpec().setReplicas(spec.kvCache.members);
                        // split-brain protection by a majority, for three members or more
                        dropArgument(member, "--quorum");
                        if (spec.kvCache.members >= 3) {
                            List<String> args = new ArrayList<>(member.getArgs());
                            args.addAll(List.of("--quorum", Integer.toString(spec.kvCache.members / 2 + 1)));
                            member.setArgs(args);
                        }
                    }
                    if (spec.kvCache.memoryBudget != null) {
                        replaceArgument(member, "--memory-budget", spec.kvCache.memoryBudget);
                    }
                    image(member, spec);
                }
                case V1Deployment router -> pods(router.getSpec().getTemplate().getSpec(), spec, null);
                case V1ConfigMap files when files.getMetadata().getName().equals(name + FLEET_CONFIG_SUFFIX) -> {
                    files.getData().put("placement.json", config.placementJson());
                    files.getData().put("endpoints.json", endpoints(name, attentionListed, config.endpointShards()));
                    files.getData().put(Rollout.FILE_NAME, config.rolloutJson());
                }
                default -> { }
            }
            object.getMetadata().setNamespace(fleet.getMetadata().getNamespace());
            object.getMetadata().setOwnerReferences(List.of(ownerReference(fleet)));
            objects.add(object);
        }
        return objects;
    }

    /** The reference that makes {@code fleet} own an object: deleting the fleet deletes it. */
    static V1OwnerReference ownerReference(MoeFleet fleet) {
        return new V1OwnerReference()
                .apiVersion(fleet.getApiVersion())
                .kind(fleet.getKind())
                .name(fleet.getMetadata().getName())
                .uid(fleet.getMetadata().getUid())
                .controller(true)
                .blockOwnerDeletion(true);
    }

    /** Where the router finds each attention instance and expert shard: their pods' stable names, in index order. */
    static String endpoints(String fleetName, int attentionInstances, int expertShards) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ArrayNode attention = root.putArray("attention");
        for (int i = 0; i < attentionInstances; i++) {
            attention.add(podAddress(fleetName + "-attention", i, ATTENTION_PORT));
        }
        ArrayNode experts = root.putArray("experts");
        for (int s = 0; s < expertShards; s++) {
            experts.add(podAddress(fleetName + "-expert", s, EXPERT_PORT));
        }
        return root.toString();
    }

    private static String podAddress(String statefulSet, int ordinal, int port) {
        return statefulSet + "-" + ordinal + "." + statefulSet + ":" + port;
    }

    static String component(KubernetesObject object) {
        var labels = object.getMetadata().getLabels();
        return labels == null ? null : labels.get("app.kubernetes.io/component");
    }

    /** The spec's image, checkpoint path and claim, and (when given) resources on a workload's pods. */
    private static void pods(V1PodSpec pod, MoeFleet.Spec spec, java.util.Map<String, Object> resources) {
        V1Container container = pod.getContainers().getFirst();
        image(container, spec);
        if (spec.modelPath != null) {
            replaceArgument(container, "--model", spec.modelPath);
        }
        if (spec.modelClaim != null && pod.getVolumes() != null) {
            for (V1Volume volume : pod.getVolumes()) {
                if (volume.getPersistentVolumeClaim() != null) {
                    volume.getPersistentVolumeClaim().setClaimName(spec.modelClaim);
                }
            }
        }
        if (resources != null) {
            container.setResources(convert(resources, V1ResourceRequirements.class));
        }
    }

    private static void image(V1Container container, MoeFleet.Spec spec) {
        if (spec.image != null) {
            container.setImage(spec.image);
        }
    }

    private static void replaceArgument(V1Container container, String option, String value) {
        List<String> args = new ArrayList<>(container.getArgs());
        int at = args.indexOf(option);
        if (at < 0 || at + 1 >= args.size()) {
            throw new IllegalStateException("the template of " + container.getName() + " has no " + option + " argument");
        }
        args.set(at + 1, value);
        container.setArgs(args);
    }

    private static void dropArgument(V1Container container, String option) {
        List<String> args = new ArrayList<>(container.getArgs());
        int at = args.indexOf(option);
        if (at >= 0) {
            args.subList(at, Math.min(at + 2, args.size())).clear();
            container.setArgs(args);
        }
    }

    /** A spec's free-form part (resources, tolerations) as the client's typed model, through YAML as the API would. */
    private static <T> T convert(Object value, Class<T> type) {
        return Yaml.loadAs(Yaml.dump(value), type);
    }

    private static <T> List<T> convert(List<?> values, Class<T> type) {
        return values.stream().map(v -> convert(v, type)).toList();
    }
}
