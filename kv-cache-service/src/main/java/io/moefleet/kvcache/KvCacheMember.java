package io.moefleet.kvcache;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.LifecycleEvent;
import io.moefleet.kvcache.impl.IMapKvPool;
import io.moefleet.kvcache.impl.MemberConfigs;

import java.util.concurrent.CountDownLatch;

/** One member of the pool: a Hazelcast member holding its share of the pages and backups of others'. */
public final class KvCacheMember implements AutoCloseable {

    private final KvCacheConfig config;
    private final HazelcastInstance instance;
    private final CountDownLatch stopped = new CountDownLatch(1);

    private KvCacheMember(KvCacheConfig config, HazelcastInstance instance) {
        this.config = config;
        this.instance = instance;
    }

    /** Starts the member and joins whichever listed members are up (or forms the cluster alone). */
    public static KvCacheMember start(KvCacheConfig config) {
        HazelcastInstance instance = Hazelcast.newHazelcastInstance(MemberConfigs.of(config));
        KvCacheMember member = new KvCacheMember(config, instance);
        instance.getLifecycleService().addLifecycleListener(event -> {
            if (event.getState() == LifecycleEvent.LifecycleState.SHUTDOWN) {
                member.stopped.countDown();
            }
        });
        if (!instance.getLifecycleService().isRunning()) {
            member.stopped.countDown();
        }
        return member;
    }

    /** Its own {@code host:port}. */
    public String address() {
        return config.address();
    }

    public KvCacheConfig config() {
        return config;
    }

    /** Members in the cluster as this member sees it. */
    public int clusterSize() {
        return instance.getCluster().getMembers().size();
    }

    /** Bytes this member's pages take on its heap, owned and backups, as Hazelcast counts them for eviction. */
    public long pageBytes() {
        return instance.getMap(IMapKvPool.MAP_NAME).getLocalMapStats().getHeapCost();
    }

    /** Pages this member owns (not counting backups). */
    public long ownedPages() {
        return instance.getMap(IMapKvPool.MAP_NAME).getLocalMapStats().getOwnedEntryCount();
    }

    /** A handle on the pool through this member; closing it leaves the member running. */
    public KvPool pool(int pageTokens) {
        return IMapKvPool.over(instance, pageTokens, () -> { });
    }

    /** Blocks until the member has stopped (a shutdown call, or the JVM's shutdown hook). */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    /** Leaves gracefully: its pages move to the remaining members before it goes. */
    public void shutdown() {
        instance.shutdown();
    }

    /** Stops at once, as a crash would: its pages survive only as the other members' backups. */
    public void terminate() {
        instance.getLifecycleService().terminate();
    }

    @Override
    public void close() {
        shutdown();
    }
}
