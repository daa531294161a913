package io.moefleet.router;

import io.moefleet.attention.RemoteAttention;
import io.moefleet.expert.RemoteExperts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Follows the fleet's configuration folder (on Kubernetes a ConfigMap the controller writes, see {@link FleetEndpoints}).
 * It switches the router to a new expert placement once every shard of it holds its part: it opens the new shards,
 * waits for them to serve, checks from their Stats that each holds the experts the placement gives it, and only then
 * replaces the {@link ShardSet}, between two layer calls. Until then the router keeps routing by the placement it has,
 * so a roll-out fails no request. New attention instances are used once they serve; those no longer listed take no new
 * sequence and keep the ones they hold ({@link RemoteAttention#setInstances}). A folder that does not parse is reported
 * and waited out.
 */
public final class FleetConfigWatch implements AutoCloseable {

    static final Duration POLL = Duration.ofSeconds(1);
    private static final Duration SERVING_WAIT = Duration.ofSeconds(5);
    private static final System.Logger LOG = System.getLogger(FleetConfigWatch.class.getName());

    private final Path folder;
    private final ShardSet shards;
    private final RemoteAttention attention;
    private List<String> attentionAddresses;
    private final Function<FleetEndpoints, RemoteExperts> open;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("fleet-config-watch").unstarted(r));
    private String applied;        // the files' contents last acted on
    private String lastProblem;    // reported once until it changes

    /**
     * @param open opens the shards of a new configuration (channels only; nothing is sent until they serve)
     */
    public FleetConfigWatch(Path folder, ShardSet shards, RemoteAttention attention, List<String> attentionAddresses,
            Function<FleetEndpoints, RemoteExperts> open) {
        this.folder = folder;
        this.shards = shards;
        this.attention = attention;
        this.attentionAddresses = List.copyOf(attentionAddresses);
        this.open = open;
    }

    /** Checks the folder every {@link #POLL} from now on. */
    public FleetConfigWatch start() {
        timer.scheduleWithFixedDelay(this::checkQuietly, POLL.toMillis(), POLL.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    private void checkQuietly() {
        try {
            check();
        } catch (RuntimeException e) {
            report("checking " + folder + " failed: " + e);
        }
    }

    /** One look at the folder: switches to its placement when it changed and its shards are ready. */
    void check() {
        String contents;
        try {
            contents = Files.readString(folder.resolve(FleetEndpoints.ENDPOINTS_FILE)) + "\n"
                    + Files.readString(folder.resolve(FleetEndpoints.PLACEMENT_FILE));
        } catch (IOException e) {
            report("cannot read " + folder + ": " + e.getMessage());
            return;
        }
        if (contents.equals(applied)) {
            return;
        }
        FleetEndpoints next;
        try {
            next = FleetEndpoints.read(folder);
        } catch (IllegalArgumentException e) {
            report("ignoring the fleet configuration until it changes: " + e.getMessage());
            applied = contents;
            return;
        }
        boolean attentionApplied = followAttention(next.attentionAddresses());
        ShardSet.Current now = shards.current();
        if (next.placement().toJson().equals(now.placement().toJson()) && next.expertAddresses().equals(now.addresses())) {
            if (attentionApplied) {
                applied = contents;
            }
            return;
        }
        RemoteExperts experts;
        try {
            experts = open.apply(next);
        } catch (RuntimeException e) {
            report("ignoring the fleet configuration until it changes: " + e.getMessage());
            applied = contents;
            return;
        }
        try {
            experts.awaitServing(SERVING_WAIT);
            List<String> missing = experts.missingExperts();
            if (!missing.isEmpty()) {
                experts.close();
                report("not switching to the new placement yet: " + String.join("; ", missing));
                return;   // looked at again next time: the shards are loading
            }
        } catch (RuntimeException e) {
            experts.close();
            report("not switching to the new placement yet: " + e.getMessage());
            return;
        }
        shards.replace(experts, next.placement(), next.expertAddresses());
        if (attentionApplied) {
            applied = contents;
            lastProblem = null;
        }
        LOG.log(System.Logger.Level.INFO, "routing by the new placement from {0}: {1} expert shard(s) at {2}", folder,
                next.placement().shards(), next.expertAddresses());
    }

    /** Hands a changed list of attention instances to the router once the new ones serve; true when it is applied. */
    private boolean followAttention(List<String> listed) {
        if (listed.equals(attentionAddresses)) {
            return true;
        }
        List<String> waiting = listed.stream().filter(address -> !attentionAddresses.contains(address))
                .filter(address -> !attention.serving(address, SERVING_WAIT)).toList();
        if (!waiting.isEmpty()) {
            report("not using the new attention instances yet: " + waiting + " do not serve");
            return false;
        }
        attention.setInstances(listed);
        attentionAddresses = List.copyOf(listed);
        LOG.log(System.Logger.Level.INFO, "new sequences go to the attention instances at {0}", listed);
        return true;
    }

    private void report(String problem) {
        if (!problem.equals(lastProblem)) {
            LOG.log(System.Logger.Level.WARNING, problem);
            lastProblem = problem;
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
