package io.moefleet.model.forward;

/**
 * One token's expert choice in one MoE layer: the chosen experts (best first) with their combine weights, and how far
 * the choice was from flipping: {@code expertMargin} is the k-th minus the (k+1)-th selection score among the kept
 * groups' experts, {@code groupMargin} the last kept minus the first dropped group score (infinite when nothing was dropped).
 */
public record Routing(int[] experts, float[] weights, float expertMargin, float groupMargin) {}
