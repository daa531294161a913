package io.moefleet.cli;

import io.moefleet.engine.Engine;
import java.io.BufferedOutputStream;
import java.io.OutputStream;
import io.moefleet.model.weights.ModelWeights;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** {@code logits}: one float32 forward pass; writes every position's logits, little-endian, row-major [tokens][vocab]. */
final class LogitsCommand implements Command {

    @Override
    public String usage() {
        return "logits --model DIR --tokens 1,2,3 --out FILE [--threads T] [--quantize q8]";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path model = Path.of(args.required("model"));
        int[] tokens = args.tokens("tokens");
        Path file = Path.of(args.required("out"));
        int threads = args.threads();
        ModelWeights.Quantize quantize = ModelWeights.Quantize.parse(args.optional("quantize", "none"));
        args.rejectUnknown();
        try (Engine engine = Engine.open(model, new ConsoleProgress(err, "loading " + model.getFileName()), threads, quantize)) {
            float[][] logits = engine.logits(tokens);
            ByteBuffer row = ByteBuffer.allocate(4 * logits[0].length).order(ByteOrder.LITTLE_ENDIAN);
            try (OutputStream o = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
                for (float[] r : logits) {
                    row.clear();
                    row.asFloatBuffer().put(r);
                    o.write(row.array());
                }
            }
            err.printf("wrote %d x %d float32 logits to %s%n", logits.length, logits[0].length, file);
        }
        return 0;
    }
}
