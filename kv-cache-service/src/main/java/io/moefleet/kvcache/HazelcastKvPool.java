package io.moefleet.kvcache;

import com.hazelcast.client.HazelcastClient;
import com.hazelcast.client.config.ClientConfig;
import com.hazelcast.config.ListenerConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.LifecycleEvent;
import com.hazelcast.core.LifecycleListener;
import io.moefleet.kvcache.impl.BackgroundKvPool;
import io.moefleet.kvcache.impl.ClientConfigs;
import io.moefleet.kvcache.impl.IMapKvPool;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** How an attention instance reaches the pool: a Hazelcast client of the pool's members (see the module README). */
public final class HazelcastKvPool {

    /** How long {@link #connect} keeps trying to reach a member before it fails. */
    public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);
    /** {@link #connectInBackground}: the longest pause between two attempts to reach a member. */
    public static final Duration MAX_RETRY_PAUSE = Duration.ofSeconds(10);
    /** {@link #connectInBackground}: how long a call waits for a member that does not answer. */
    public static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);

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

    /**
     * A handle on the pool for a user to whom the pool is a cache (an attention instance), which never waits for the
     * pool beyond {@code firstConnectWait}: it returns once the client has reached a member, or after that long without
     * one, and goes on connecting in the background, reconnecting for as long as it is open. While no member is
     * reachable every call fails at once ({@code HazelcastClientOfflineException}); a call to a member that does not
     * answer fails after {@link #CALL_TIMEOUT}.
     */
    public static KvPool connectInBackground(String clusterName, List<String> addresses, int pageTokens,
            Duration firstConnectWait) {
        CountDownLatch connected = new CountDownLatch(1);
        ClientConfig config = ClientConfigs.inBackground(clusterName, addresses, MAX_RETRY_PAUSE, CALL_TIMEOUT);
        config.addListenerConfig(new ListenerConfig((LifecycleListener) event -> {
            if (event.getState() == LifecycleEvent.LifecycleState.CLIENT_CONNECTED) {
                connected.countDown();
            }
        }));
        HazelcastInstance client = HazelcastClient.newHazelcastClient(config);
        try {
            KvPool pool = new BackgroundKvPool(client, pageTokens);
            if (!connected.await(firstConnectWait.toNanos(), TimeUnit.NANOSECONDS)) {
                System.getLogger(HazelcastKvPool.class.getName()).log(System.Logger.Level.WARNING,
                        "KV pool {0} at {1}: no member reached in {2} ms; going on without it, connecting in the background",
                        clusterName, String.join(",", addresses), firstConnectWait.toMillis());
            }
            return pool;
        } catch (InterruptedException e) {
            client.shutdown();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while connecting to the KV pool", e);
        } catch (RuntimeException e) {
            client.shutdown();
            throw e;
        }
    }
}
