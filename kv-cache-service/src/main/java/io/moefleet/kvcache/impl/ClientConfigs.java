package io.moefleet.kvcache.impl;

import com.hazelcast.client.config.ClientConfig;
import com.hazelcast.client.config.ClientConnectionStrategyConfig;

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

    /**
     * A client that never makes its owner wait for the pool: it connects in the background, keeps retrying for as long
     * as it lives (backing off to {@code maxRetryPause}), and while it has no member every call fails at once with
     * {@code HazelcastClientOfflineException} (async start, async reconnect); a call to a member that does not answer
     * gives up after {@code callTimeout}.
     */
    public static ClientConfig inBackground(String clusterName, List<String> addresses, Duration maxRetryPause,
            Duration callTimeout) {
        ClientConfig config = of(clusterName, addresses, Duration.ofMillis(Long.MAX_VALUE));
        config.setProperty("hazelcast.client.invocation.timeout.seconds", Long.toString(Math.max(1, callTimeout.toSeconds())));
        ClientConnectionStrategyConfig strategy = config.getConnectionStrategyConfig()
                .setAsyncStart(true)
                .setReconnectMode(ClientConnectionStrategyConfig.ReconnectMode.ASYNC);
        strategy.getConnectionRetryConfig().setMaxBackoffMillis((int) Math.min(Integer.MAX_VALUE, maxRetryPause.toMillis()));
        return config;
    }
}
