package io.moefleet.controller;

import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The {@code MoeFleet} custom resource ({@code moefleet.io/v1alpha1}; its CRD is {@code k8s/base/crd-moefleet.yaml}):
 * what an operator asks of a fleet (spec) and what the controller did about it (status). Fields mirror the CRD's
 * schema one to one; unset numbers are null and take the defaults given here.
 */
public final class MoeFleet implements KubernetesObject {

    public static final String GROUP = "moefleet.io";
    public static final String VERSION = "v1alpha1";
    public static final String KIND = "MoeFleet";
    public static final String PLURAL = "moefleets";

    private String apiVersion = GROUP + "/" + VERSION;
    private String kind = KIND;
    private V1ObjectMeta metadata = new V1ObjectMeta();
    private Spec spec = new Spec();
    private Status status;

    public static final class Spec {
        public String image;
        public String modelPath;
        public String modelClaim;
        public Experts experts = new Experts();
        public Attention attention = new Attention();
        public KvCache kvCache = new KvCache();
        public Slo slo = new Slo();
        public Scaling scaling = new Scaling();
        public Placement placement = new Placement();
    }

    public static final class Experts {
        public Integer routedExperts;
        public Integer shards;
        public Integer expertsPerPod;
        public Integer redundantExperts;
        public Integer minShards;
        public Integer maxShards;
        public Map<String, Object> resources;
        public Map<String, String> nodeSelector;
        public List<Map<String, Object>> tolerations;
    }

    public static final class Attention {
        public Integer instances;
        public Integer minInstances;
        public Integer maxInstances;
        public Map<String, Object> resources;
    }

    public static final class KvCache {
        public Integer members;
        public String memoryBudget;
    }

    public static final class Slo {
        public Integer ttftMillis;
        public Integer tpotMillis;
    }

    public static final class Scaling {
        public Integer cooldownSeconds;
        public Integer queueDepthPerShard;
        public Double kvPagesHighWatermark;
    }

    public static final class Placement {
        public Integer replanIntervalSeconds;
        public Double imbalanceThreshold;
    }

    public static final class Status {
        public Long observedGeneration;
        public Integer shards;
        public Integer attentionInstances;
        public Integer readyShards;
        public String placement;
        public Long placementGeneration;
        public RolloutStatus rollout;
        public String lastReplan;
        public LastScaling lastScaling;
        public List<Condition> conditions = new ArrayList<>();
    }

    /**
     * A placement change in progress ({@link PlacementRollout}): the shards load the target's experts one at a time
     * ({@code Loading}, shards below {@code shardsBelow} done or loading), the router switches to it ({@code Switching},
     * the previous placement's experts still held), then the extras go ({@code Draining}).
     */
    public static final class RolloutStatus {
        public String phase;
        public String target;
        public String previous;
        public Integer shardsBelow;
        public String reason;
        public String started;
    }

    /** The last replica change the controller made, and why. */
    public static final class LastScaling {
        public String time;
        public String component;
        public Integer from;
        public Integer to;
        public String reason;
    }

    public static final class Condition {
        public String type;
        public String status;
        public String reason;
        public String message;
        public String lastTransitionTime;
        public Long observedGeneration;
    }

    @Override
    public V1ObjectMeta getMetadata() {
        return metadata;
    }

    public MoeFleet metadata(V1ObjectMeta metadata) {
        this.metadata = metadata;
        return this;
    }

    @Override
    public String getApiVersion() {
        return apiVersion;
    }

    @Override
    public String getKind() {
        return kind;
    }

    public Spec getSpec() {
        return spec;
    }

    public MoeFleet spec(Spec spec) {
        this.spec = spec;
        return this;
    }

    public Status getStatus() {
        return status;
    }

    public MoeFleet status(Status status) {
        this.status = status;
        return this;
    }
}
