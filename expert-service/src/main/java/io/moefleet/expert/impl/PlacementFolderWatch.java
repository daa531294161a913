package io.moefleet.expert.impl;

import io.moefleet.expert.ExpertPlacement;
import io.moefleet.expert.HeldExperts;
import io.moefleet.expert.Rollout;
import io.moefleet.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Follows a shard's placement folder (a ConfigMap on Kubernetes): {@code placement.json} and the {@link Rollout} beside
 * it, read every second. When their contents change and both parse and fit the model, the experts they give the shard
 * are handed to the shard to hold; a change that does not parse or fit is logged with the reason and ignored, and the
 * shard keeps serving what it holds. Contents are compared, not modification times: kubelet updates a ConfigMap by
 * swapping a symlink, which need not change the files' times.
 */
public final class PlacementFolderWatch implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(PlacementFolderWatch.class.getName());
    private static final long PERIOD_MS = 1_000;

    private final Path placementFile;
    private final Path rolloutFile;
    private final ModelConfig config;
    private final int shard;
    private final ScheduledExecutorService timer;
    // read and written by the timer's one thread (and before it starts)
    private FolderContents seen;
    private HeldExperts held;
    private String lastProblem;

    /** The two files' text as read together; {@code rollout} null when there is no rollout file. */
    private record FolderContents(String placement, String rollout) {}

    public PlacementFolderWatch(Path placementFile, ModelConfig config, int shard) {
        this.placementFile = placementFile;
        this.rolloutFile = Rollout.beside(placementFile);
        this.config = config;
        this.shard = shard;
        this.timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon()
                .name("expert-shard-" + shard + "-config-watch").factory());
    }

    /**
     * The experts the folder gives the shard at start-up, placement and rollout. When the folder does not read as valid
     * now (it changed since {@code given} was read from it), {@code given}'s part without extras, the reason logged.
     */
    public HeldExperts initial(ExpertPlacement given) {
        held = HeldExperts.of(given, Rollout.NONE, shard);
        poll().ifPresent(next -> held = next);
        return held;
    }

    /** Looks at the folder every second from now on, handing each valid change to {@code hold}. */
    public void start(Consumer<HeldExperts> hold) {
        timer.scheduleWithFixedDelay(() -> {
            try {
                Optional<HeldExperts> next = poll();
                if (next.isPresent()) {
                    hold.accept(next.get());
                    held = next.get();
                }
            } catch (RuntimeException e) {
                // a failure must not end the schedule: the next change of the folder gets its chance
                LOG.log(System.Logger.Level.ERROR, "shard " + shard + ": changing the experts it holds failed; it keeps "
                        + "serving what it held: " + e, e);
            }
        }, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
    }

    /**
     * One look at the folder: the experts to hold when the files changed since the last look into a valid folder
     * that gives this shard something else; empty otherwise (an invalid change logged).
     */
    Optional<HeldExperts> poll() {
        FolderContents now;
        try {
            now = read();
        } catch (IOException e) {
            problem("placement file " + placementFile + " cannot be read: " + e);
            return Optional.empty();
        }
        if (now == null || now.equals(seen)) {
            return Optional.empty();
        }
        seen = now;
        HeldExperts next;
        try {
            next = heldBy(now);
        } catch (IllegalArgumentException e) {
            problem(e.getMessage());
            return Optional.empty();
        }
        lastProblem = null;
        return next.equals(held) ? Optional.empty() : Optional.of(next);
    }

    /**
     * Both files' text, or null when placement.json changed while the rollout was read: kubelet swaps both files at
     * once, and a mix of old and new could drop experts that neither the old nor the new state drops.
     */
    private FolderContents read() throws IOException {
        String placement = Files.readString(placementFile);
        String rollout;
        try {
            rollout = Files.readString(rolloutFile);
        } catch (NoSuchFileException e) {
            rollout = null;
        }
        return placement.equals(Files.readString(placementFile)) ? new FolderContents(placement, rollout) : null;
    }

    private HeldExperts heldBy(FolderContents contents) {
        ExpertPlacement placement;
        try {
            placement = ExpertPlacement.parse(contents.placement());
            placement.checkAgainst(config);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("placement file " + placementFile + ": " + e.getMessage(), e);
        }
        Rollout rollout = Rollout.NONE;
        if (contents.rollout() != null) {
            try {
                rollout = Rollout.parse(contents.rollout());
                rollout.checkAgainst(config);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("rollout file " + rolloutFile + ": " + e.getMessage(), e);
            }
        }
        return HeldExperts.of(placement, rollout, shard);
    }

    /** Logs why the folder is ignored, once per reason (the folder is looked at every second). */
    private void problem(String reason) {
        if (!Objects.equals(reason, lastProblem)) {
            lastProblem = reason;
            LOG.log(System.Logger.Level.WARNING, "shard " + shard + " ignores its placement folder as it is now, keeping "
                    + "the experts it holds: " + reason);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            // a change in progress finishes before the shard's checkpoint closes (ShardExperts waits for it too)
            timer.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
