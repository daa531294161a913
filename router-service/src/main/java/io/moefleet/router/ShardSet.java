package io.moefleet.router;

import io.moefleet.expert.ExpertPlacement;
import io.moefleet.expert.RemoteExperts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The expert shards the router calls now, with the placement they serve, replaced as a whole when the fleet's
 * placement changes ({@link FleetConfigWatch}). A layer's dispatch and its combine use the same shards; a replaced set
 * is closed at the next dispatch, when every combine of the old set is done (the model runs layers one after the
 * other on one thread).
 */
public final class ShardSet implements AutoCloseable {

    /** The shards and the placement they were opened with. */
    public record Current(RemoteExperts experts, ExpertPlacement placement, List<String> addresses) {}

    private volatile Current current;
    private volatile double hedgePercentile;   // 0: off; every set of shards hedges alike
    private volatile Duration spin = Duration.ZERO;   // every set of shards waits alike
    private final List<RemoteExperts> retired = new ArrayList<>();

    public ShardSet(RemoteExperts experts, ExpertPlacement placement, List<String> addresses) {
        this.current = new Current(experts, placement, List.copyOf(addresses));
    }

    /** The shards for one layer's dispatch and combine; closes the sets replaced before it. On the stepping thread. */
    RemoteExperts forDispatch() {
        synchronized (retired) {
            retired.forEach(RemoteExperts::close);
            retired.clear();
        }
        return current.experts();
    }

    public Current current() {
        return current;
    }

    /** Hedged expert calls ({@link RemoteExperts#hedgeAfter}) on these shards and any that replace them. */
    public void hedgeAfter(double percentile) {
        hedgePercentile = percentile;
        current.experts().hedgeAfter(percentile);
    }

    /** Spins before parking for an answer ({@link RemoteExperts#spinBeforeParking}) on these shards and any that replace them. */
    public void spinBeforeParking(Duration spin) {
        this.spin = spin;
        current.experts().spinBeforeParking(spin);
    }

    /** From the next dispatch on, layers go to {@code experts}, which serve {@code placement}. */
    public void replace(RemoteExperts experts, ExpertPlacement placement, List<String> addresses) {
        experts.hedgeAfter(hedgePercentile);
        experts.spinBeforeParking(spin);
        synchronized (retired) {
            retired.add(current.experts());
            current = new Current(experts, placement, List.copyOf(addresses));
        }
    }

    @Override
    public void close() {
        synchronized (retired) {
            retired.forEach(RemoteExperts::close);
            retired.clear();
            current.experts().close();
        }
    }
}
