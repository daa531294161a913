package io.moefleet.kvcache.impl;

import com.hazelcast.config.Config;
import com.hazelcast.config.EvictionConfig;
import com.hazelcast.config.EvictionPolicy;
import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MaxSizePolicy;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.config.RestEndpointGroup;
import com.hazelcast.config.SplitBrainProtectionConfig;
import io.moefleet.kvcache.KvCacheConfig;

/** A pool member's Hazelcast configuration. */
public final class MemberConfigs {

    /** The split-brain protection of the pages map: reads and writes only with a quorum of members. */
    static final String QUORUM = "kv-quorum";

    private MemberConfigs() {
    }

    public static Config of(KvCacheConfig settings) {
        Config config = new Config();
        config.setClusterName(settings.clusterName());
        Quiet.apply(config.getProperties());
        // join at once: the members are listed, there is nothing to wait for
        config.setProperty("hazelcast.wait.seconds.before.join", "0");
        config.setProperty("hazelcast.max.wait.seconds.before.join", "0");
        // bind only the announced address, so members on one machine never clash on another interface
        config.setProperty("hazelcast.socket.bind.any", "false");
        config.setProperty("hazelcast.partition.count", Integer.toString(settings.partitions()));

        NetworkConfig network = config.getNetworkConfig();
        network.setPort(settings.port()).setPortAutoIncrement(false);
        network.getInterfaces().setEnabled(true).addInterface(settings.host());
        JoinConfig join = network.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        if (settings.kubernetesDns() != null) {
            join.getKubernetesConfig().setEnabled(true).setProperty("service-dns", settings.kubernetesDns());
        } else {
            join.getTcpIpConfig().setEnabled(true).setMembers(settings.members());
        }
        // /hazelcast/health/ready and /hazelcast/health/node-state on the member's port: the pods' probes
        network.getRestApiConfig().setEnabled(true).enableGroups(RestEndpointGroup.HEALTH_CHECK);

        MapConfig pages = pages(settings.memoryBudget().mebibytes(), settings.backups());
        if (settings.quorum() >= 2) {
            config.addSplitBrainProtectionConfig(new SplitBrainProtectionConfig(QUORUM, true, settings.quorum()));
            pages.setSplitBrainProtectionName(QUORUM);
        }
        config.addMapConfig(pages);
        return config;
    }

    /**
     * {@code backups} synchronous backups (1 by default: a publish returns once two members hold the page); BINARY, since pages are only
     * ever stored and shipped, never read on a member; LRU eviction by USED_HEAP_SIZE, which compares the bytes this
     * member's entries take (owned and backup pages alike) with the budget, so one budget holds for any model's page
     * size. Hazelcast takes the victim from the partition being written, sampling its entries, and takes the new page
     * itself only when it is alone there: hence few partitions (see {@link KvCacheConfig#partitions()}).
     */
    private static MapConfig pages(int budgetMebibytes, int backups) {
        return new MapConfig(IMapKvPool.MAP_NAME)
                .setBackupCount(backups)
                .setAsyncBackupCount(0)
                .setInMemoryFormat(InMemoryFormat.BINARY)
                .setStatisticsEnabled(true)
                .setEvictionConfig(new EvictionConfig()
                        .setEvictionPolicy(EvictionPolicy.LRU)
                        .setMaxSizePolicy(MaxSizePolicy.USED_HEAP_SIZE)
                        .setSize(budgetMebibytes));
    }
}
