package io.moefleet.cli;

import io.moefleet.engine.Benchmark;
import io.moefleet.engine.Engine;
import io.moefleet.engine.MemoryBandwidth;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.weights.ModelWeights;
import java.io.PrintStream;
import java.nio.file.Path;

/** {@code bench}: prefill and decode throughput of the engine beside the measured bandwidth roofline. */
final class BenchCommand implements Command {

    @Override
    public java.util.Set<String> switches() {
        return java.util.Set.of("json");
    }

    @Override
    public String usage() {
        return "bench --model DIR [--threads T] [--quantize q8] [--batch B] [--json]";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path model = Path.of(args.required("model"));
        int threads = args.intValue("threads", "2", 1);
        int batch = args.intValue("batch", "1", 1);
        boolean json = args.flag("json");
        ModelWeights.Quantize quantize = ModelWeights.Quantize.parse(args.optional("quantize", "none"));
        args.rejectUnknown();
        double bandwidth;
        try (Workers workers = new Workers(threads)) {
            err.println("measuring read bandwidth with " + threads + " thread(s)");
            bandwidth = MemoryBandwidth.measure(workers);
        }
        try (Engine engine = Engine.open(model, new ConsoleProgress(err, "loading " + model.getFileName()), threads, quantize)) {
            err.println("running prefill (" + Benchmark.PREFILL_TOKENS + " tokens) and decode (" + Benchmark.DECODE_TOKENS
                    + " tokens per sequence) with warm-up");
            Benchmark.Result r = new Benchmark(engine).run(batch, threads, bandwidth);
            out.printf("prefill            %8.1f tokens/s (%d-token prompt)%n", r.prefillTokensPerS(), Benchmark.PREFILL_TOKENS);
            out.printf("decode, batch %-4d %8.1f tokens/s%n", batch, r.decodeTokensPerS());
            if (batch > 1) {
                out.printf("decode, batch 1    %8.1f tokens/s%n", r.decodeBatch1TokensPerS());
            }
            out.printf("read bandwidth     %8.2f GB/s (%d threads)%n", r.bandwidthBytesPerS() / 1e9, threads);
            out.printf("active weights     %8.1f MB per token%n", r.activeBytesPerToken() / 1e6);
            out.printf("roofline           %8.1f tokens/s; batch-1 decode reaches %.1f%% of it%n",
                    r.bandwidthBytesPerS() / r.activeBytesPerToken(), 100 * r.rooflineShare());
            if (json) {
                out.println(r.json());
            }
        }
        return 0;
    }
}
