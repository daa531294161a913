package io.moefleet.cli;

import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.cli.plan.HardwareSpec;
import io.moefleet.cli.plan.KustomizeOverlay;
import io.moefleet.cli.plan.MemoryPlan;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.Quantization;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code plan}: whether a model fits given GPU or CPU nodes and where its memory goes per expert pod
 * ({@link MemoryPlan}); with {@code --emit kustomize}, an overlay of {@code k8s/base} that deploys the plan
 * ({@link KustomizeOverlay}). When it does not fit: exit code 1 and the shortfall on stderr.
 */
final class PlanCommand implements Command {

    @Override
    public java.util.Set<String> switches() {
        return java.util.Set.of("json");
    }

    @Override
    public String usage() {
        return "plan --config CONFIG.json (--nodes N --gpus-per-node G --gpu-memory-gib M | --cpu-nodes N --node-memory-gib M) "
                + "[--context TOKENS] [--dtype fp8|bf16|int4] [--concurrency SEQS] [--json] [--emit kustomize --out DIR [--base DIR]]";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) {
        ModelConfig config = ModelConfig.read(Path.of(args.required("config")));
        HardwareSpec hardware = hardware(args);
        int context = args.intValue("context", Integer.toString(config.maxPositionEmbeddings()), 1);
        int concurrency = args.intValue("concurrency", "1", 1);
        String dtype = args.optional("dtype", null);
        WeightFormat format = dtype == null ? checkpointFormat(config) : WeightFormat.parse(dtype);
        boolean json = args.flag("json");
        String emit = args.optional("emit", null);
        String outDir = args.optional("out", null);
        String baseDir = args.optional("base", null);
        if (emit != null && !emit.equals("kustomize")) {
            throw new UsageException("plan: --emit takes kustomize, got '" + emit + "'");
        }
        if (emit == null && (outDir != null || baseDir != null)) {
            throw new UsageException("plan: --out and --base go with --emit kustomize");
        }
        if (emit != null && outDir == null) {
            throw new UsageException("plan: --emit kustomize needs --out DIR");
        }
        args.rejectUnknown();

        MemoryPlan plan = MemoryPlan.of(config, format, hardware, context, concurrency);
        if (!plan.fits()) {
            err.println("fleet plan: " + plan.shortfall());
            return 1;
        }
        out.print(json ? plan.json() + System.lineSeparator() : plan.table());
        if (emit != null) {
            Path base = baseDir != null ? Path.of(baseDir) : defaultBase();
            if (!Files.isDirectory(base)) {
                err.println("fleet plan: note: the base " + base + " does not exist (yet); the overlay refers to it");
            }
            List<Path> written = KustomizeOverlay.write(plan, Path.of(outDir), base);
            err.println("fleet plan: wrote " + written.size() + " files into " + outDir + " (kubectl apply -k " + outDir + ")");
        }
        return 0;
    }

    private static HardwareSpec hardware(Args args) {
        boolean gpu = args.optional("nodes", null) != null;
        boolean cpu = args.optional("cpu-nodes", null) != null;
        if (gpu == cpu) {
            throw new UsageException("plan: give either --nodes N --gpus-per-node G --gpu-memory-gib M (GPU nodes) "
                    + "or --cpu-nodes N --node-memory-gib M (CPU nodes)");
        }
        if (gpu) {
            if (args.optional("node-memory-gib", null) != null) {
                throw new UsageException("plan: --node-memory-gib goes with --cpu-nodes; GPU nodes take --gpu-memory-gib");
            }
            return HardwareSpec.gpus(requiredInt(args, "nodes"), requiredInt(args, "gpus-per-node"), requiredInt(args, "gpu-memory-gib"));
        }
        if (args.optional("gpus-per-node", null) != null || args.optional("gpu-memory-gib", null) != null) {
            throw new UsageException("plan: --gpus-per-node and --gpu-memory-gib go with --nodes; CPU nodes take --node-memory-gib");
        }
        return HardwareSpec.cpuNodes(requiredInt(args, "cpu-nodes"), requiredInt(args, "node-memory-gib"));
    }

    private static int requiredInt(Args args, String name) {
        return args.intValue(name, args.required(name), 1);
    }

    /** Without --dtype, the checkpoint's own: its quantization_config, else BF16. */
    private static WeightFormat checkpointFormat(ModelConfig config) {
        return switch (config.quantization()) {
            case Quantization.None none -> WeightFormat.BF16;
            case Quantization.Fp8Block fp8 -> WeightFormat.FP8;
            case Quantization.PackedInt packed when packed.bits() == 4 -> WeightFormat.INT4;
            case Quantization.PackedInt packed -> throw new IllegalArgumentException("the checkpoint is packed " + packed.bits()
                    + "-bit, which plan does not size; give --dtype fp8, bf16 or int4");
        };
    }

    /** {@code k8s/base} of the repository {@code ./fleet} runs from. */
    private static Path defaultBase() {
        return Path.of(System.getProperty("fleet.home", "."), "k8s", "base");
    }
}
