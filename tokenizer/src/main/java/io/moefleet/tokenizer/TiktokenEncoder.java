package io.moefleet.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.GptBytePairEncodingParams;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * tiktoken's BPE through jtokkit: each match of the pre-tokenizer pattern is one token when its bytes are one, else
 * its bytes merged pair by pair, lowest rank first. Special tokens stay outside jtokkit (it only takes {@code <|...|>}
 * names and cannot switch them off per call).
 */
final class TiktokenEncoder implements OrdinaryEncoder {

    private final Encoding encoding;

    TiktokenEncoder(String name, Pattern pattern, byte[][] ranks) {
        Map<byte[], Integer> rankByToken = new HashMap<>(ranks.length * 2);
        for (int rank = 0; rank < ranks.length; rank++) {
            if (ranks[rank] != null) {
                rankByToken.put(ranks[rank], rank);
            }
        }
        // a registry of its own: names need only be unique within one, and no built-in encoding gets loaded
        this.encoding = Encodings.newLazyEncodingRegistry()
                .registerGptBytePairEncoding(new GptBytePairEncodingParams(name, pattern, rankByToken, Map.of()))
                .getEncoding(name)
                .orElseThrow();
    }

    @Override
    public int[] encode(String text) {
        return encoding.encodeOrdinary(text).toArray();
    }
}
