package io.moefleet.kvcache;

import com.hazelcast.client.HazelcastClient;
import com.hazelcast.core.HazelcastInstance;
import io.moefleet.kvcache.impl.ClientConfigs;
import io.moefleet.kvcache.impl.IMapKvPool;

import java.time.Duration;
import java.util.List;

/** How an attention instance reaches the pool: a Hazelcast client of the pool's members (see the module README). */
public final class HazelcastKvPool {

    /** How long {@link #connect} keeps trying to reach a member before it fails. */
    public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);

    private HazelcastKvPool() {
    }

    /**
     * Connects to the pool of cluster {@code clusterName}.
     *
     * @param addresses  some members' {@code host:port} (the client finds the rest)
     * @param pageTokens tokens per page, the same for every instance of the fleet
     */
    public static KvPool connect(String clusterName, List<String> addresses, int pageTokens) {
        HazelcastInstance client = HazelcastClient.newHazelcastClient(
                ClientConfigs.of(clusterName, addresses, CONNECT_TIMEOUT));
        try {
            return IMapKvPool.over(client, pageTokens, client::shutdown);
        } catch (RuntimeException e) {
            client.shutdown();
            throw e;
        }
    }
}
