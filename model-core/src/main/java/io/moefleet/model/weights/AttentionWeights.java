package io.moefleet.model.weights;

/**
 * Multi-head latent attention of one layer. With a q LoRA, {@code q = qB(rms(qA(x)))} and {@code q} is null;
 * without one (V2-Lite, Moonlight), {@code q(x)} and the LoRA fields are null.
 */
public record AttentionWeights(
        Linear qA, float[] qANorm, Linear qB, Linear q,
        Linear kvA, float[] kvANorm, Linear kvB, Linear o) {

    public long storageBytes() {
        long n = kvA.storageBytes() + kvB.storageBytes() + o.storageBytes() + 4L * kvANorm.length;
        return n + (q != null ? q.storageBytes() : qA.storageBytes() + qB.storageBytes() + 4L * qANorm.length);
    }
}
