package io.moefleet.trainer;

import io.moefleet.model.compute.Workers;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The training loop: each step a batch of random windows of the training tokens (seeded), forward and backward,
 * one {@link Optimizer} step with the learning rate of a linear warm-up and cosine decay to a tenth, QK-Clip from the
 * step's max logits (for MuonClip); every {@code evalEvery} steps the mean loss over fixed held-out windows. A progress
 * line goes to {@code progress} and a JSON line per step to {@code log}.
 */
public final class TrainingRun {

    /**
     * @param batch sequences per step; {@code length} tokens per sequence (plus the one predicted after the last)
     * @param warmup steps of linear warm-up
     * @param evalWindows held-out windows of {@code length} + 1 tokens averaged per evaluation
     */
    public record Settings(int steps, int batch, int length, double lr, int warmup, Optimizer.Settings optimizer,
            long seed, int evalEvery, int evalWindows) {}

    /** Losses at the end of a run. */
    public record Result(double trainLoss, double heldOutLoss, float maxLogit, double tokensPerSecond) {}

    private final TrainingModel model;
    private final Settings settings;
    private final Optimizer optimizer;

    public TrainingRun(TrainingModel model, Settings settings, Workers workers) {
        this.model = model;
        this.settings = settings;
        this.optimizer = new Optimizer(model, settings.optimizer(), workers);
    }

    /** The learning rate at {@code step} (0-based): warm-up, then cosine from lr to lr/10. */
    double learningRate(int step) {
        if (step < settings.warmup()) {
            return settings.lr() * (step + 1) / settings.warmup();
        }
        double progress = (double) (step - settings.warmup()) / Math.max(1, settings.steps() - settings.warmup());
        return settings.lr() * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    public Result run(int[] train, int[] heldOut, PrintStream progress, Writer log) throws IOException {
        return run(train, heldOut, 0, settings.steps(), progress, log);
    }

    /**
     * Steps {@code [first, end)} of the schedule's {@code steps}: a run resumed at {@code first} (weights and optimiser
     * state as saved after {@code first} steps) takes the same steps as one that never stopped: each step's windows
     * come from (seed, step).
     */
    public Result run(int[] train, int[] heldOut, int first, int end, PrintStream progress, Writer log) throws IOException {
        int window = settings.length() + 1;
        if (train.length <= window || heldOut.length < window) {
            throw new IllegalArgumentException("too little text: " + train.length + " training and " + heldOut.length
                    + " held-out tokens for windows of " + window);
        }
        Batch heldOutBatch = heldOutBatch(heldOut, window);
        long start = System.nanoTime();
        long tokens = 0;
        double loss = Double.NaN;
        double heldOutLoss = Double.NaN;
        float runMax = Float.NEGATIVE_INFINITY;
        for (int step = first; step < end; step++) {
            model.zeroGrad();
            loss = model.lossAndGradient(Batch.nextToken(windows(train, step)));
            float[][] maxLogits = model.maxLogits();
            float stepMax = max(maxLogits);
            runMax = Math.max(runMax, stepMax);
            double lr = learningRate(step);
            int clipped = optimizer.step(model, lr, maxLogits);
            tokens += (long) settings.batch() * settings.length();
            boolean last = step == end - 1;
            boolean evaluate = last || (settings.evalEvery() > 0 && (step + 1) % settings.evalEvery() == 0);
            if (evaluate) {
                heldOutLoss = model.loss(heldOutBatch);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double rate = tokens / seconds;
            int done = step - first + 1;
            log.write(String.format(Locale.ROOT,
                    "{\"step\":%d,\"lr\":%.6g,\"loss\":%.6f,\"held_out_loss\":%s,\"max_logit\":%.4f,\"clipped_heads\":%d,\"tokens\":%d,\"tokens_per_s\":%.1f}%n",
                    step + 1, lr, loss, evaluate ? String.format(Locale.ROOT, "%.6f", heldOutLoss) : "null",
                    stepMax, clipped, tokens, rate));
            if (last || step % 10 == 0) {
                double eta = seconds / done * (end - step - 1);
                progress.printf(Locale.ROOT, "train: step %d/%d  %.0f tokens/s  loss %.4f  held-out %s  max logit %.2f  ETA %s%n",
                        step + 1, end, rate, loss,
                        Double.isNaN(heldOutLoss) ? "-" : String.format(Locale.ROOT, "%.4f", heldOutLoss), stepMax, duration(eta));
            }
        }
        log.flush();
        return new Result(loss, heldOutLoss, runMax, tokens / ((System.nanoTime() - start) / 1e9));
    }

    /** The training windows of {@code step}: {@code batch} random runs of {@code length + 1} tokens, drawn from (seed, step). */
    int[][] windows(int[] train, int step) {
        int window = settings.length() + 1;
        SplittableRandom random = new SplittableRandom(stepSeed(settings.seed(), step));
        int[][] windows = new int[settings.batch()][];
        for (int s = 0; s < windows.length; s++) {
            int from = random.nextInt(train.length - window + 1);
            windows[s] = java.util.Arrays.copyOfRange(train, from, from + window);
        }
        return windows;
    }

    /**
     * The seed of a step's windows. SplittableRandom's state advances by the golden gamma per draw, so seeds a multiple
     * of that gamma apart give the same draws shifted: each step's seed goes through a 64-bit finaliser (MurmurHash3's)
     * so that no two steps share windows.
     */
    static long stepSeed(long seed, int step) {
        long z = seed * 0x9E3779B97F4A7C15L + step;
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB9FE1A85EC53L;
        return z ^ (z >>> 33);
    }

    /** Consecutive windows from the start of the held-out text, as many as asked for and available. */
    private Batch heldOutBatch(int[] heldOut, int window) {
        int count = Math.max(1, Math.min(settings.evalWindows(), heldOut.length / window));
        int[][] windows = new int[count][];
        for (int s = 0; s < count; s++) {
            windows[s] = java.util.Arrays.copyOfRange(heldOut, s * window, (s + 1) * window);
        }
        return Batch.nextToken(windows);
    }

    private static float max(float[][] values) {
        float m = Float.NEGATIVE_INFINITY;
        for (float[] row : values) {
            for (float v : row) {
                m = Math.max(m, v);
            }
        }
        return m;
    }

    private static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
