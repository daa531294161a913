package io.moefleet.tokenizer;

/**
 * A checkpoint's tokenizer: text to token ids and back. {@code decode(encode(text, allowSpecial))} gives back any text
 * (lone UTF-16 surrogates, which are no Unicode text, come back as U+FFFD, as tiktoken does). Safe for concurrent use.
 */
public interface TextTokenizer extends AutoCloseable {

    /**
     * The ids of a text, without a bos token (see {@link SequenceMarkers#addBos()}).
     *
     * @param allowSpecial whether special-token text in {@code text} becomes the special token; when false it is
     *     encoded as ordinary text (what user-supplied text needs, so that it cannot forge a turn marker)
     */
    int[] encode(String text, boolean allowSpecial);

    /** The text of token ids: their bytes concatenated and read as UTF-8 (a broken character becomes U+FFFD). */
    String decode(int[] ids);

    /** The bytes of one token (a special token's are its text in UTF-8): what a streaming decoder needs. */
    byte[] tokenBytes(int id);

    /** One more than the largest token id. */
    int vocabSize();

    SpecialTokens specialTokens();

    SequenceMarkers sequenceMarkers();

    /** Frees native memory where the implementation holds any. */
    @Override
    void close();
}
