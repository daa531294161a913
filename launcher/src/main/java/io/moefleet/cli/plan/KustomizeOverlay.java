package io.moefleet.cli.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.expert.BalancedPlacement;
import io.moefleet.expert.ExpertPlacement;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * A kustomize overlay of the repository's {@code k8s/base} that deploys a {@link MemoryPlan}: the fleet ConfigMap's
 * {@code placement.json} and {@code endpoints.json}, the expert StatefulSet's pods and resources, as many attention
 * instances as pods (data-parallel attention), and the {@code MoeFleet} the controller starts from.
 *
 * <p>Written with {@code bases:} and {@code patchesStrategicMerge:}, which kustomize v2.0.3 (inside kubectl 1.20) and v5
 * both read. Each container gets the memory the plan gives its pod, rounded up to a GiB, as request and limit alike.
 */
public final class KustomizeOverlay {

    public static final String KUSTOMIZATION = "kustomization.yaml";
    public static final String FLEET_CONFIG = "fleet-configmap.yaml";
    public static final String EXPERTS = "expert-statefulset.yaml";
    public static final String ATTENTION = "attention-statefulset.yaml";
    public static final String FLEET = "moefleet.yaml";

    static final int EXPERT_PORT = 50051;
    static final int ATTENTION_PORT = 50061;

    private KustomizeOverlay() {}

    /**
     * Writes the overlay into {@code dir} (created if missing) over the base at {@code base}; returns the files written.
     */
    public static List<Path> write(MemoryPlan plan, Path dir, Path base) {
        Path from = dir.toAbsolutePath().normalize();
        String basePath = from.relativize(base.toAbsolutePath().normalize()).toString().replace(File.separatorChar, '/');
        List<Path> written = new ArrayList<>();
        try {
            Files.createDirectories(dir);
            written.add(write(dir.resolve(KUSTOMIZATION), kustomization(plan, basePath.isEmpty() ? "." : basePath)));
            written.add(write(dir.resolve(FLEET_CONFIG), fleetConfig(plan)));
            written.add(write(dir.resolve(EXPERTS), experts(plan)));
            written.add(write(dir.resolve(ATTENTION), attention(plan)));
            written.add(write(dir.resolve(FLEET), fleet(plan)));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write the overlay into " + dir + ": " + e, e);
        }
        return written;
    }

    /**
     * The even rule for the plan's pods; with redundant experts, the balanced plan for a uniform load (the spare slots to
     * the lowest-indexed experts) until load statistics re-plan it.
     */
    public static ExpertPlacement placement(MemoryPlan plan) {
        int experts = plan.weights().routedExperts();
        return plan.redundantExperts() == 0
                ? ExpertPlacement.spread(experts, plan.pods(), 1)
                : BalancedPlacement.uniform(experts, plan.pods(), plan.expertsPerPod());
    }

    private static Path write(Path file, String text) throws IOException {
        Files.writeString(file, text);
        return file;
    }

    private static String kustomization(MemoryPlan plan, String basePath) {
        return "# Made by ./fleet plan: " + plan.describe() + " on " + plan.hardware().describe() + ".\n"
                + "# " + plan.pods() + " expert pods of " + plan.expertsPerPod() + " routed experts (" + plan.redundantExperts()
                + " redundant), " + plan.pods() + " attention instances. Apply with: kubectl apply -k <this folder>\n"
                + "# bases and patchesStrategicMerge: read by kustomize v2.0.3 (kubectl 1.20) and v5 alike.\n"
                + "apiVersion: kustomize.config.k8s.io/v1beta1\n"
                + "kind: Kustomization\n"
                + "bases:\n"
                + "  - " + basePath + "\n"
                + "patchesStrategicMerge:\n"
                + "  - " + FLEET_CONFIG + "\n"
                + "  - " + EXPERTS + "\n"
                + "  - " + ATTENTION + "\n"
                + "  - " + FLEET + "\n";
    }

    private static String fleetConfig(MemoryPlan plan) {
        int pods = plan.pods();
        return "# which routed experts each expert shard holds, and where the router finds every shard and attention instance\n"
                + "apiVersion: v1\n"
                + "kind: ConfigMap\n"
                + "metadata:\n"
                + "  name: moefleet-fleet\n"
                + "data:\n"
                + "  placement.json: |\n" + indent(placementJson(placement(plan)), 4)
                + "  endpoints.json: |\n" + indent(endpointsJson(pods), 4);
    }

    /** {@code placement.toJson()}, one shard's list per line. */
    static String placementJson(ExpertPlacement placement) {
        JsonNode file;
        try {
            file = new ObjectMapper().readTree(placement.toJson());
        } catch (IOException e) {
            throw new IllegalStateException("the placement's own file does not parse", e);
        }
        StringBuilder json = new StringBuilder("{\"routed_experts\": " + file.get("routed_experts") + ", \"shards\": [\n");
        json.append(lines(file.get("shards"))).append("]");
        if (file.has("layers")) {
            json.append(", \"layers\": {\n");
            List<String> layers = new ArrayList<>();
            file.get("layers").properties().forEach(layer -> layers.add("\"" + layer.getKey() + "\": [\n" + lines(layer.getValue()) + "]"));
            json.append(String.join(",\n", layers)).append("\n}");
        }
        return json.append("}\n").toString();
    }

    private static String lines(JsonNode shards) {
        List<String> lines = new ArrayList<>();
        shards.forEach(list -> lines.add("  " + list.toString()));
        return String.join(",\n", lines) + "\n";
    }

    static String endpointsJson(int pods) {
        return "{\"attention\": [\n" + endpoints("moefleet-attention", ATTENTION_PORT, pods) + "],\n"
                + " \"experts\": [\n" + endpoints("moefleet-expert", EXPERT_PORT, pods) + "]}\n";
    }

    /** The StatefulSet pods' stable names through their headless Service: {@code NAME-i.NAME:PORT}. */
    private static String endpoints(String statefulSet, int port, int pods) {
        return IntStream.range(0, pods)
                .mapToObj(i -> "  \"" + statefulSet + "-" + i + "." + statefulSet + ":" + port + "\"")
                .collect(Collectors.joining(",\n")) + "\n";
    }

    private static String experts(MemoryPlan plan) {
        return "# one expert shard per " + plan.hardware().device() + ", with the memory the plan gives it\n"
                + "apiVersion: apps/v1\n"
                + "kind: StatefulSet\n"
                + "metadata:\n"
                + "  name: moefleet-expert\n"
                + "spec:\n"
                + "  replicas: " + plan.pods() + "\n"
                + "  template:\n"
                + "    spec:\n"
                + "      containers:\n"
                + "        - name: expert\n"
                + indent(resources(plan), 10);
    }

    private static String attention(MemoryPlan plan) {
        return "# data-parallel attention: one instance per expert pod (endpoints.json lists them)\n"
                + "apiVersion: apps/v1\n"
                + "kind: StatefulSet\n"
                + "metadata:\n"
                + "  name: moefleet-attention\n"
                + "spec:\n"
                + "  replicas: " + plan.pods() + "\n";
    }

    /**
     * The controller's bounds are the plan's counts: the plan fills the hardware it was given (one pod per device), and
     * fewer pods than that would each need more memory than planned.
     */
    private static String fleet(MemoryPlan plan) {
        int pods = plan.pods();
        return "# the fleet as planned; the bounds are the planned counts, since the plan fills the hardware it was made for\n"
                + "apiVersion: moefleet.io/v1alpha1\n"
                + "kind: MoeFleet\n"
                + "metadata:\n"
                + "  name: moefleet\n"
                + "spec:\n"
                + "  experts:\n"
                + "    routedExperts: " + plan.weights().routedExperts() + "\n"
                + "    shards: " + pods + "\n"
                + "    expertsPerPod: " + plan.expertsPerPod() + "\n"
                + "    redundantExperts: " + plan.redundantExperts() + "\n"
                + "    minShards: " + pods + "\n"
                + "    maxShards: " + pods + "\n"
                + indent(resources(plan), 4)
                + "  attention:\n"
                + "    instances: " + pods + "\n"
                + "    minInstances: " + pods + "\n"
                + "    maxInstances: " + pods + "\n";
    }

    /** Requests and limits alike: the pod's planned memory (rounded up to a GiB) and, on GPU nodes, one GPU. */
    private static String resources(MemoryPlan plan) {
        long gib = (plan.pod().total() + (1L << 30) - 1) >> 30;
        String amounts = "  memory: " + gib + "Gi\n" + (plan.hardware().gpu() ? "  nvidia.com/gpu: 1\n" : "");
        return "resources:\n"
                + "  requests:\n" + indent(amounts, 2)
                + "  limits:\n" + indent(amounts, 2);
    }

    private static String indent(String text, int spaces) {
        String pad = " ".repeat(spaces);
        return text.lines().map(line -> pad + line + "\n").collect(Collectors.joining());
    }
}
