package io.moefleet.tokenizer;

/** The BPE core: token ids of text that holds no special token (any special-token text in it is ordinary text). */
interface OrdinaryEncoder extends AutoCloseable {

    int[] encode(String text);

    /** Frees native memory where the core has any. */
    @Override
    default void close() {}
}
