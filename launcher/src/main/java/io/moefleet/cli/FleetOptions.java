package io.moefleet.cli;

import io.moefleet.attention.KvPoolSettings;
import io.moefleet.cli.fleet.FleetLayout;
import io.moefleet.expert.ExpertPlacement;
import io.moefleet.expert.PlacementFlags;
import io.moefleet.model.ModelConfig;
import io.moefleet.rpc.TlsFiles;
import java.nio.file.Path;
import java.util.List;

/** The fleet's placement options, shared by {@code serve} and {@code generate --fleet}, read into a {@link FleetLayout}. */
final class FleetOptions {

    static final List<String> NAMES = List.of("expert-shards", "experts-per-shard", "replicas",
            "attention-instances", "kv-members", "service-threads", "trace-sampling", "tls-dir");

    static final String USAGE = "(--expert-shards N | --experts-per-shard K) [--replicas R] [--attention-instances A] "
            + "[--kv-members M] [--service-threads T] [--trace-sampling RATIO] [--tls-dir DIR]";

    private FleetOptions() {}

    /** {@code --micro-batches 1|2} and {@code --spin-us N}, each empty where not given (the router's defaults then). */
    record StepOptions(java.util.OptionalInt microBatches, java.util.OptionalInt spinMicros) {}

    /** The fleet router's step options; errors are usage errors of {@code command}. */
    static StepOptions steps(String command, Args args) {
        String microBatches = args.optional("micro-batches", null);
        return new StepOptions(microBatches == null ? java.util.OptionalInt.empty()
                : java.util.OptionalInt.of(microBatches(command, args.intValue("micro-batches", microBatches, 1))), spinMicros(args));
    }

    /** {@code count} as micro-batches per step: 1 (whole steps) or 2, else a usage error of {@code command}. */
    static int microBatches(String command, int count) {
        if (count > 2) {
            throw new UsageException(command + ": --micro-batches is 1 (whole steps) or 2, not " + count);
        }
        return count;
    }

    /** {@code --spin-us N}: microseconds the router spins for an answer before parking; empty where not given. */
    static java.util.OptionalInt spinMicros(Args args) {
        String given = args.optional("spin-us", null);
        return given == null ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(args.intValue("spin-us", given, 0));
    }

    /** The placement flags checked against the model's config; errors are usage errors of {@code command}. */
    static FleetLayout layout(String command, Args args, Path model) {
        ModelConfig config = ModelConfig.read(model.resolve("config.json"));
        ExpertPlacement placement;
        try {
            placement = new PlacementFlags(optionalInt(args, "expert-shards"), optionalInt(args, "experts-per-shard"),
                    optionalInt(args, "replicas"), null).resolve(config);
        } catch (IllegalArgumentException e) {
            throw new UsageException(command + ": " + e.getMessage());
        }
        int attentionInstances = args.intValue("attention-instances", "1", 1);
        int kvMembers = args.intValue("kv-members", "2", 1);
        String serviceThreads = args.optional("service-threads", null);
        int expertThreads = serviceThreads == null ? FleetLayout.defaultExpertThreads(placement)
                : args.intValue("service-threads", serviceThreads, 1);
        int attentionThreads = serviceThreads == null ? FleetLayout.defaultAttentionThreads(attentionInstances) : expertThreads;
        // tokens per KV page: the attention instances publish every full page and restore a new prompt's cached pages
        int kvPageTokens = args.intValue("kv-page-tokens", Integer.toString(KvPoolSettings.DEFAULT_PAGE_TOKENS), 1);
        return new FleetLayout(model, placement, attentionInstances, kvMembers, expertThreads, attentionThreads, kvPageTokens,
                tlsDir(args, FleetLayout.TLS_ROLES));
    }

    /**
     * {@code --tls-dir DIR}, its files checked for each of {@code roles} before anything starts (a missing or mismatched
     * file is an error naming it); null when not given.
     */
    static Path tlsDir(Args args, List<String> roles) {
        String dir = args.optional("tls-dir", null);
        if (dir == null) {
            return null;
        }
        for (String role : roles) {
            TlsFiles.load(Path.of(dir), role);
        }
        return Path.of(dir);
    }

    private static Integer optionalInt(Args args, String name) {
        String value = args.optional(name, null);
        return value == null ? null : args.intValue(name, value, 1);
    }

    /** Under {@code ./fleet}, the repository's {@code build/fleet-logs}; else the temporary folder's. */
    static Path logsRoot() {
        String home = System.getProperty("fleet.home");
        return home != null ? Path.of(home, "build", "fleet-logs")
                : Path.of(System.getProperty("java.io.tmpdir"), "moefleet-fleet-logs");
    }
}
