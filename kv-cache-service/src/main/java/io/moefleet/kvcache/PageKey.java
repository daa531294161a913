package io.moefleet.kvcache;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The 256-bit key of one KV page: the end of the hash chain over the model and every token up to and including the
 * page (see {@link PageKeys}). Equal prefixes give equal keys wherever they were computed.
 */
public final class PageKey {

    /** Bytes in a key (SHA-256). */
    public static final int BYTES = 32;

    private final byte[] hash;

    private PageKey(byte[] hash) {
        this.hash = hash;
    }

    /** A key from its 32 bytes (copied). */
    public static PageKey of(byte[] hash) {
        if (hash.length != BYTES) {
            throw new IllegalArgumentException("a page key has " + BYTES + " bytes, not " + hash.length);
        }
        return new PageKey(hash.clone());
    }

    /** A key from its 64 lower-case or upper-case hex digits. */
    public static PageKey ofHex(String hex) {
        return of(HexFormat.of().parseHex(hex));
    }

    /** The key's bytes (a copy). */
    public byte[] bytes() {
        return hash.clone();
    }

    /** The key as 64 lower-case hex digits: how the pool stores it. */
    public String hex() {
        return HexFormat.of().formatHex(hash);
    }

    /** Writes the key's bytes into a digest input without copying them. */
    void feed(MessageDigest digest) {
        digest.update(hash);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof PageKey key && Arrays.equals(hash, key.hash);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(hash);
    }

    @Override
    public String toString() {
        return hex();
    }
}
