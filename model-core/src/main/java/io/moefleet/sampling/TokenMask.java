package io.moefleet.sampling;

/**
 * Which tokens are allowed at one sampling step. A sampler applies the mask before any other processing:
 * a disallowed token's logit becomes negative infinity, so no bias or penalty can bring it back.
 */
@FunctionalInterface
public interface TokenMask {

    boolean allowed(int tokenId);

    /** The mask that allows every token. */
    static TokenMask all() {
        return tokenId -> true;
    }
}
