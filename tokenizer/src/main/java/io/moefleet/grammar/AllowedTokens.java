package io.moefleet.grammar;

import io.moefleet.sampling.TokenMask;
import java.util.BitSet;

/** The tokens a grammar allows at one step, as a sampler's mask. Immutable. */
public final class AllowedTokens implements TokenMask {

    private final BitSet ids;

    AllowedTokens(BitSet ids) {
        this.ids = ids;
    }

    @Override
    public boolean allowed(int tokenId) {
        return tokenId >= 0 && ids.get(tokenId);
    }

    public int count() {
        return ids.cardinality();
    }

    /** The allowed ids in increasing order. */
    public int[] ids() {
        return ids.stream().toArray();
    }
}
