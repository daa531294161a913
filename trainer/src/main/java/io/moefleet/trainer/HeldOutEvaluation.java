package io.moefleet.trainer;

import java.util.Arrays;

/**
 * A model's cross-entropy on the whole held-out text against a unigram baseline. The text is cut into consecutive
 * windows of {@code length + 1} tokens (each predicted from its own window only, as training sees them); the baseline
 * predicts every one of the same tokens from the training text's token frequencies (add-one smoothed over the
 * vocabulary), the best a model without context can do.
 */
public final class HeldOutEvaluation {

    /** Nats per predicted token, for the model and the baseline, over {@code tokens} predictions. */
    public record Result(double modelLoss, double unigramLoss, long tokens) {

        public double modelPerplexity() {
            return Math.exp(modelLoss);
        }

        public double unigramPerplexity() {
            return Math.exp(unigramLoss);
        }
    }

    private static final int WINDOWS_PER_BATCH = 16;

    private HeldOutEvaluation() {}

    public static Result of(TrainingModel model, int[] train, int[] heldOut, int length) {
        int window = length + 1;
        int windows = heldOut.length / window;
        if (windows == 0) {
            throw new IllegalArgumentException(heldOut.length + " held-out tokens make no window of " + window);
        }
        double[] logUnigram = logUnigram(train, model.config().vocabSize());
        double modelNats = 0;
        double unigramNats = 0;
        for (int first = 0; first < windows; first += WINDOWS_PER_BATCH) {
            int count = Math.min(WINDOWS_PER_BATCH, windows - first);
            int[][] batch = new int[count][];
            for (int s = 0; s < count; s++) {
                batch[s] = Arrays.copyOfRange(heldOut, (first + s) * window, (first + s + 1) * window);
                for (int i = 1; i < window; i++) {
                    unigramNats -= logUnigram[batch[s][i]];
                }
            }
            modelNats += model.loss(Batch.nextToken(batch)) * count * length;   // loss is the mean over the batch's predictions
        }
        long predicted = (long) windows * length;
        return new Result(modelNats / predicted, unigramNats / predicted, predicted);
    }

    private static double[] logUnigram(int[] train, int vocab) {
        long[] counts = new long[vocab];
        for (int id : train) {
            counts[id]++;
        }
        double total = train.length + (double) vocab;
        double[] log = new double[vocab];
        for (int id = 0; id < vocab; id++) {
            log[id] = Math.log((counts[id] + 1) / total);
        }
        return log;
    }
}
