package io.moefleet.trainer;

/** Token embeddings: the forward copies a row per token, the backward adds each token's gradient to its row. */
final class Embedding {

    final Parameter table;

    Embedding(Parameter table) {
        this.table = table;
    }

    void forward(int[] tokens, float[][] h) {
        for (int t = 0; t < tokens.length; t++) {
            table.linear().row(tokens[t], h[t], 0);
        }
    }

    void backward(int[] tokens, float[][] dh) {
        int cols = table.cols();
        float[] grad = table.grad();
        for (int t = 0; t < tokens.length; t++) {
            int base = tokens[t] * cols;
            for (int i = 0; i < cols; i++) {
                grad[base + i] += dh[t][i];
            }
        }
    }
}
