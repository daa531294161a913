package io.moefleet.cli.fleet;

import io.moefleet.router.LayerCallSummary;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** What {@code ./fleet bench --fleet} measured: decode throughput per batch, engine and fleet side by side, and the floors. */
public record FleetBenchReport(int threads, FleetLayout layout, List<BatchFigures> batches, Floors floors) {

    /**
     * One batch size: decode tokens/s of the engine and of the fleet (medians over the rounds) and the median of the
     * rounds' fleet/engine ratios; per MoE layer (in the last round), the dispatch-and-combine wall time and the expert
     * calls' bytes; per layer, the attention call's wall time and its rows' bytes; the socket-echo floor of as many
     * bytes as the layer's dispatch; the fleet's micro-batches per step and the router's spin before parking.
     */
    public record BatchFigures(int batch, int microBatches, int spinMicros, double engineTokensPerS, double fleetTokensPerS,
            double ratio, LayerCallSummary experts, LayerCallSummary attention, LayerCallSummary socketEcho) {}

    /** The empty gRPC call's round trip, and the socket echo of the largest batch's dispatch bytes. */
    public record Floors(LayerCallSummary emptyGrpc, LayerCallSummary socketEcho, long socketEchoBytes) {}

    /** The human-readable table. */
    public String table() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "decode with %d router/engine thread(s); fleet: %d expert shard(s), %d attention "
                        + "instance(s); %d thread(s) per shard, %d per attention instance%n", threads, layout.placement().shards(),
                layout.attentionInstances(), layout.expertThreads(), layout.attentionThreads()));
        out.append(String.format(Locale.ROOT, "%5s %3s %5s %11s %11s %6s %13s %19s %17s %17s %17s %21s %19s %17s%n", "batch", "mb", "spin",
                "engine t/s", "fleet t/s", "ratio", "hidden e/a %", "experts p50/p99 us", "shard p50/p99 us", "attn p50/p99 us",
                "inst p50/p99 us", "experts B/layer o+i", "attn B/layer o+i", "echo p50/p99 us"));
        for (BatchFigures b : batches) {
            out.append(String.format(Locale.ROOT, "%5d %3d %5d %11.1f %11.1f %6.2f %13s %19s %17s %17s %17s %21s %19s %17s%n", b.batch(),
                    b.microBatches(), b.spinMicros(), b.engineTokensPerS(), b.fleetTokensPerS(), b.ratio(),
                    String.format(Locale.ROOT, "%.0f / %.0f", 100 * b.experts().hiddenShare(), 100 * b.attention().hiddenShare()),
                    percentiles(b.experts()),
                    percentiles(b.experts().serverP50Micros(), b.experts().serverP99Micros()), percentiles(b.attention()),
                    percentiles(b.attention().serverP50Micros(), b.attention().serverP99Micros()), bytes(b.experts()),
                    bytes(b.attention()), percentiles(b.socketEcho())));
        }
        out.append("engine and fleet t/s: medians over the rounds; ratio: the median of the rounds' fleet/engine; mb: micro-batches per step; spin: us the router spins for an answer before parking; hidden e/a: the share of the expert (attention) calls' time the step spent not"
                + " waiting on them (calls of the last round); experts: one MoE layer's dispatch to the last shard's answer; shard: the slowest shard's own"
                + " time in it; attn and inst: the same for a layer's attention call; rows in the order run, several settings"
                + " forward then mirrored (a later row gains from the JVMs' compiling alone: set a setting's two rows against"
                + " the other's)\n");
        out.append(String.format(Locale.ROOT, "floors: empty gRPC call p50 %.0f us, p99 %.0f us; socket echo of %d bytes p50 %.0f us, "
                        + "p99 %.0f us%n", floors.emptyGrpc().p50Micros(), floors.emptyGrpc().p99Micros(), floors.socketEchoBytes(),
                floors.socketEcho().p50Micros(), floors.socketEcho().p99Micros()));
        return out.toString();
    }

    /** One JSON object on one line. */
    public String json() {
        String perBatch = batches.stream().map(b -> String.format(Locale.ROOT,
                "{\"batch\": %d, \"micro_batches\": %d, \"spin_us\": %d, \"engine_tokens_per_s\": %.2f, \"fleet_tokens_per_s\": %.2f, \"ratio\": %.3f, "
                        + "\"experts_hidden_share\": %.3f, \"attention_hidden_share\": %.3f, "
                        + "\"dispatch_combine_p50_us\": %.1f, \"dispatch_combine_p99_us\": %.1f, "
                        + "\"slowest_shard_p50_us\": %.1f, \"slowest_shard_p99_us\": %.1f, "
                        + "\"attention_call_p50_us\": %.1f, \"attention_call_p99_us\": %.1f, "
                        + "\"attention_instance_p50_us\": %.1f, \"attention_instance_p99_us\": %.1f, "
                        + "\"bytes_per_layer\": {\"experts_sent\": %.0f, \"experts_received\": %.0f, "
                        + "\"attention_sent\": %.0f, \"attention_received\": %.0f}, "
                        + "\"socket_echo_p50_us\": %.1f, \"socket_echo_p99_us\": %.1f}",
                b.batch(), b.microBatches(), b.spinMicros(), b.engineTokensPerS(), b.fleetTokensPerS(), b.ratio(), b.experts().hiddenShare(),
                b.attention().hiddenShare(), b.experts().p50Micros(), b.experts().p99Micros(),
                b.experts().serverP50Micros(), b.experts().serverP99Micros(), b.attention().p50Micros(), b.attention().p99Micros(),
                b.attention().serverP50Micros(), b.attention().serverP99Micros(), b.experts().bytesSentPerCall(),
                b.experts().bytesReceivedPerCall(), b.attention().bytesSentPerCall(), b.attention().bytesReceivedPerCall(),
                b.socketEcho().p50Micros(), b.socketEcho().p99Micros())).collect(Collectors.joining(", "));
        return String.format(Locale.ROOT, "{\"threads\": %d, \"expert_shards\": %d, \"attention_instances\": %d, "
                        + "\"expert_threads\": %d, \"attention_threads\": %d, \"batches\": [%s], \"floors\": {\"empty_grpc_p50_us\": %.1f, "
                        + "\"empty_grpc_p99_us\": %.1f, \"socket_echo_bytes\": %d, \"socket_echo_p50_us\": %.1f, "
                        + "\"socket_echo_p99_us\": %.1f}}",
                threads, layout.placement().shards(), layout.attentionInstances(), layout.expertThreads(), layout.attentionThreads(), perBatch,
                floors.emptyGrpc().p50Micros(), floors.emptyGrpc().p99Micros(), floors.socketEchoBytes(),
                floors.socketEcho().p50Micros(), floors.socketEcho().p99Micros());
    }

    private static String percentiles(LayerCallSummary calls) {
        return percentiles(calls.p50Micros(), calls.p99Micros());
    }

    private static String percentiles(double p50Micros, double p99Micros) {
        return String.format(Locale.ROOT, "%.0f / %.0f", p50Micros, p99Micros);
    }

    private static String bytes(LayerCallSummary calls) {
        return String.format(Locale.ROOT, "%.0f+%.0f", calls.bytesSentPerCall(), calls.bytesReceivedPerCall());
    }
}
