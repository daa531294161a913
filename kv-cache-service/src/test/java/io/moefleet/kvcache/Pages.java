package io.moefleet.kvcache;

import java.util.SplittableRandom;

/** Pages of made-up latents: the {@code small} preset's shape unless told otherwise. */
final class Pages {

    static final String MODEL = "small-seed7-f32";
    static final int TOKENS = 16;
    static final int LAYERS = 8;
    static final int WIDTH = 288;

    private Pages() {
    }

    static KvPage random(int pageIndex, long seed) {
        return random(MODEL, pageIndex, TOKENS, LAYERS, WIDTH, seed);
    }

    static KvPage random(String model, int pageIndex, int tokens, int layers, int width, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[][][] latents = new float[layers][tokens][width];
        for (float[][] layer : latents) {
            for (float[] row : layer) {
                for (int i = 0; i < width; i++) {
                    row[i] = (float) random.nextGaussian();
                }
            }
        }
        return KvPage.fromLatents(model, pageIndex, latents);
    }

    static int[] tokens(int count, long seed) {
        return new SplittableRandom(seed).ints(count, 0, 163_840).toArray();
    }
}
