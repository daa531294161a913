package io.moefleet.model.forward;

/** Indices of the k largest values, largest first; equal values keep the lower index first, so the order is deterministic. */
final class TopK {

    private TopK() {}

    static int[] indices(float[] v, int n, int k) {
        int[] best = new int[k];
        int filled = 0;
        for (int i = 0; i < n; i++) {
            if (filled == k && !(v[i] > v[best[k - 1]])) {
                continue;
            }
            int pos = Math.min(filled, k - 1);
            while (pos > 0 && v[i] > v[best[pos - 1]]) {
                best[pos] = best[pos - 1];
                pos--;
            }
            best[pos] = i;
            if (filled < k) {
                filled++;
            }
        }
        return best;
    }
}
