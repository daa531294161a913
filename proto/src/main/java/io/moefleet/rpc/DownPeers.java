package io.moefleet.rpc;

import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;

/**
 * Peers of one kind (expert shards, attention instances; by index) that a client routes around after a call failed,
 * until their health check answers SERVING again. The client's stepping thread marks a peer down; a daemon thread asks
 * the peer's health every {@code recheck}; the stepping thread takes recovered peers back where it chooses (at the start
 * of a step), so that a peer never comes back in the middle of one. Reads are thread-safe (reports, state pages).
 */
public final class DownPeers implements AutoCloseable {

    private static final Duration HEALTH_POLL = Duration.ofMillis(50);

    private final Set<Integer> down = new ConcurrentSkipListSet<>();
    private final Set<Integer> recovered = ConcurrentHashMap.newKeySet();
    private final Duration recheck;
    private final IntPredicate serving;
    private final ScheduledExecutorService watch;

    /**
     * @param watchName the watch thread's name
     * @param serving   whether a peer answers SERVING now (called on the watch thread, may block up to a second)
     */
    public DownPeers(String watchName, Duration recheck, IntPredicate serving) {
        this.recheck = recheck;
        this.serving = serving;
        this.watch = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name(watchName).unstarted(r));
    }

    /** Routes around {@code peer} from now on; returns whether it was up until now. */
    public boolean markDown(int peer) {
        if (!down.add(peer)) {
            return false;
        }
        recovered.remove(peer);
        watch.schedule(() -> check(peer), recheck.toMillis(), TimeUnit.MILLISECONDS);
        return true;
    }

    public boolean isDown(int peer) {
        return down.contains(peer);
    }

    /** The peers down now, ascending. */
    public List<Integer> down() {
        return List.copyOf(down);
    }

    /** Whether each of the first {@code peers} peers is down, as one array (for code that indexes peers). */
    public boolean[] flags(int peers) {
        boolean[] flags = new boolean[peers];
        for (int peer : down) {
            if (peer < peers) {
                flags[peer] = true;
            }
        }
        return flags;
    }

    /** Peers the watch found serving again are up from now on; returns them, ascending. */
    public List<Integer> takeBackRecovered() {
        if (recovered.isEmpty()) {
            return List.of();
        }
        List<Integer> back = new ArrayList<>();
        for (int peer : List.copyOf(recovered)) {
            if (recovered.remove(peer) && down.remove(peer)) {
                back.add(peer);
            }
        }
        back.sort(null);
        return back;
    }

    private void check(int peer) {
        if (!down.contains(peer)) {
            return;
        }
        if (serving.test(peer)) {
            recovered.add(peer);
        } else if (!watch.isShutdown()) {
            watch.schedule(() -> check(peer), recheck.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void close() {
        watch.shutdownNow();
    }

    /**
     * Null when {@code health} answers SERVING for {@code service} before {@code endNanos} (waiting at least a poll and
     * at most a second), else what it answered or how the call failed.
     */
    public static String healthProblem(HealthGrpc.HealthBlockingStub health, String service, long endNanos) {
        long wait = Math.clamp(endNanos - System.nanoTime(), HEALTH_POLL.toNanos(), Duration.ofSeconds(1).toNanos());
        try {
            ServingStatus status = health.withDeadlineAfter(wait, TimeUnit.NANOSECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(service).build())
                    .getStatus();
            return status == ServingStatus.SERVING ? null : "answers " + status;
        } catch (StatusRuntimeException e) {
            return CallFailures.describe(e.getStatus());
        }
    }
}
