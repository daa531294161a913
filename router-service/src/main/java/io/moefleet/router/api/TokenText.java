package io.moefleet.router.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.router.scheduler.TokenLogprobs;
import io.moefleet.tokenizer.TextTokenizer;
import java.nio.charset.StandardCharsets;

/** How a single token is shown in logprobs: its text (bytes read as UTF-8), or {@code token_id:N} when asked. */
final class TokenText {

    private final TextTokenizer tokenizer;
    private final boolean asIds;

    TokenText(TextTokenizer tokenizer, boolean asIds) {
        this.tokenizer = tokenizer;
        this.asIds = asIds;
    }

    String of(int token) {
        return asIds ? "token_id:" + token : new String(tokenizer.tokenBytes(token), StandardCharsets.UTF_8);
    }

    /** OpenAI's chat logprob entry: token, logprob, bytes, top_logprobs. */
    ObjectNode chatEntry(TokenLogprobs logprobs) {
        ObjectNode entry = entry(logprobs.token(), logprobs.logprob());
        ArrayNode top = entry.putArray("top_logprobs");
        for (TokenLogprobs.Candidate candidate : logprobs.top()) {
            top.add(entry(candidate.token(), candidate.logprob()));
        }
        return entry;
    }

    private ObjectNode entry(int token, float logprob) {
        ObjectNode entry = Json.object();
        entry.put("token", of(token));
        entry.put("logprob", logprob);
        ArrayNode bytes = entry.putArray("bytes");
        for (byte b : tokenizer.tokenBytes(token)) {
            bytes.add(b & 0xFF);
        }
        return entry;
    }
}
