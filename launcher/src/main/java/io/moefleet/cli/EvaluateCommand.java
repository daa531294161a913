package io.moefleet.cli;

import io.moefleet.engine.Engine;
import io.moefleet.model.compute.Workers;
import io.moefleet.sampling.SamplingParams;
import io.moefleet.tokenizer.TextTokenizer;
import io.moefleet.tokenizer.Tokenizers;
import io.moefleet.trainer.BrownCorpus;
import io.moefleet.trainer.HeldOutEvaluation;
import io.moefleet.trainer.TokenisedCorpus;
import io.moefleet.trainer.TrainingModel;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * {@code evaluate}: a trained model's loss on the Brown corpus's held-out text (every window of the whole held-out
 * part) beside a unigram baseline on the same tokens, and the greedy continuations of text openings on the engine, as
 * {@code ./fleet serve} would compute them.
 */
final class EvaluateCommand implements Command {

    static final String OPENINGS = "The jury said that|It was a cold morning and|In the years after the war,";

    @Override
    public String usage() {
        return "evaluate --model DIR [--length 128] [--openings 'TEXT|TEXT|...'] [--max-tokens 32] [--threads T] [--corpus DIR]";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path model = Path.of(args.required("model"));
        int length = args.intValue("length", "128", 1);
        String[] openings = args.optional("openings", OPENINGS).split("\\|");
        int maxTokens = args.intValue("max-tokens", "32", 1);
        int threads = args.threads();
        String corpusOption = args.optional("corpus", null);
        args.rejectUnknown();

        Path corpus = corpusOption != null ? Path.of(corpusOption) : TrainCommand.installedCorpus(err);
        try (Workers workers = new Workers(threads); TextTokenizer tokenizer = Tokenizers.load(model)) {
            TrainingModel trained = TrainingModel.fromCheckpoint(model, workers);
            int bos = trained.config().bosTokenId();
            TokenisedCorpus text = TokenisedCorpus.of(BrownCorpus.read(corpus), tokenizer, bos);
            HeldOutEvaluation.Result result = HeldOutEvaluation.of(trained, text.train(), text.heldOut(), length);
            out.printf(Locale.ROOT, "held-out: %d predicted tokens in windows of %d: loss %.4f nats/token (perplexity %.1f);"
                    + " unigram baseline %.4f (perplexity %.1f); uniform ln(vocab) %.4f%n", result.tokens(), length + 1,
                    result.modelLoss(), result.modelPerplexity(), result.unigramLoss(), result.unigramPerplexity(),
                    Math.log(trained.config().vocabSize()));
            try (Engine engine = Engine.open(model, (done, total) -> { }, threads)) {
                for (String opening : openings) {
                    int[] prompt = IntStream.concat(IntStream.of(bos), Arrays.stream(tokenizer.encode(opening, false))).toArray();
                    int[] continuation = engine.generate(prompt, maxTokens, SamplingParams.greedy());
                    out.printf("greedy: %s|%s%n", opening, tokenizer.decode(continuation).replace("\n", "\\n"));
                }
            }
        }
        return 0;
    }
}
