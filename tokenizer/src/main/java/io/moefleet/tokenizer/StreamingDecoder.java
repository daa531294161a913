package io.moefleet.tokenizer;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Token ids in, text out, one token at a time, for streamed answers: a character whose UTF-8 bytes span several
 * tokens comes out whole once its last byte arrives, never half. All the pieces plus {@link #flush()} are exactly
 * {@link TextTokenizer#decode} of all the ids (bytes that can never form a character become U+FFFD in both).
 * One per sequence; not thread-safe.
 */
public final class StreamingDecoder {

    private final TextTokenizer tokenizer;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    /** Bytes of a character still incomplete, in read mode. */
    private ByteBuffer pending = ByteBuffer.allocate(0);

    public StreamingDecoder(TextTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** The text that the token completes; empty while a character is still missing bytes. */
    public String push(int id) {
        byte[] bytes = tokenizer.tokenBytes(id);
        ByteBuffer input = ByteBuffer.allocate(pending.remaining() + bytes.length).put(pending).put(bytes).flip();
        CharBuffer out = CharBuffer.allocate(input.remaining() + 1);
        utf8.decode(input, out, false);
        pending = input;
        return out.flip().toString();
    }

    /** Whatever is left at the end of the sequence: an unfinished character becomes U+FFFD. Starts afresh. */
    public String flush() {
        CharBuffer out = CharBuffer.allocate(pending.remaining() + 1);
        utf8.decode(pending, out, true);
        utf8.flush(out);
        utf8.reset();
        pending = ByteBuffer.allocate(0);
        return out.flip().toString();
    }
}
