package io.moefleet.kvcache.impl;

import com.hazelcast.client.config.ClientConfig;

import java.time.Duration;
import java.util.List;

/** An attention instance's client of the pool. */
public final class ClientConfigs {

    private ClientConfigs() {
    }

    /**
     * The client learns every member from the first it reaches and sends each key straight to the member that owns
     * it (all-members routing, Hazelcast's default).
     *
     * @param connectTimeout how long to keep trying before giving up with an error, instead of waiting forever
     */
    public static ClientConfig of(String clusterName, List<String> addresses, Duration connectTimeout) {
        ClientConfig config = new ClientConfig();
        config.setClusterName(clusterName);
        Quiet.apply(config.getProperties());
        config.getNetworkConfig().setAddresses(addresses);
        config.getConnectionStrategyConfig().getConnectionRetryConfig()
                .setClusterConnectTimeoutMillis(connectTimeout.toMillis());
        return config;
    }
}
