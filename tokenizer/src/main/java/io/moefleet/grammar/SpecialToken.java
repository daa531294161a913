package io.moefleet.grammar;

/** One special token, by id; progress 0 before it, 1 after. */
final class SpecialToken extends Rule {

    final int tokenId;

    SpecialToken(int tokenId) {
        if (tokenId < 0) {
            throw new IllegalArgumentException("token id " + tokenId + " < 0");
        }
        this.tokenId = tokenId;
    }

    @Override
    boolean nullable() {
        return false;
    }
}
