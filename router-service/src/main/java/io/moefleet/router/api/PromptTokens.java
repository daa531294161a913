package io.moefleet.router.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.moefleet.tokenizer.SequenceMarkers;

/** A completion prompt as token ids: given as ids (checked against the vocabulary) or as text (encoded, with bos). */
final class PromptTokens {

    private PromptTokens() {}

    static int[] of(JsonNode prompt, ServedModel served) {
        if (prompt.isArray() && prompt.size() == 1 && (prompt.get(0).isTextual() || prompt.get(0).isArray())) {
            return of(prompt.get(0), served);                   // a batch of one
        }
        if (prompt.isTextual()) {
            return encode(prompt.textValue(), served);
        }
        if (!prompt.isArray()) {
            throw ApiException.badRequest("'prompt' must be a string or a list of token ids, got " + prompt.getNodeType());
        }
        int[] ids = new int[prompt.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = prompt.get(i);
            if (id.isTextual() || id.isArray()) {
                throw ApiException.badRequest("'prompt' holds several prompts; send one per request");
            }
            if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < 0 || id.asInt() >= served.vocabSize()) {
                throw ApiException.badRequest("'prompt'[" + i + "] is " + id + ", not a token id in [0, " + served.vocabSize() + ")");
            }
            ids[i] = id.asInt();
        }
        if (ids.length == 0) {
            throw ApiException.badRequest("'prompt' has no tokens");
        }
        return ids;
    }

    private static int[] encode(String text, ServedModel served) {
        int[] ids = served.tokenizer().encode(text, true);
        SequenceMarkers markers = served.tokenizer().sequenceMarkers();
        if (markers.addBos() && markers.bos().isPresent()) {
            int[] withBos = new int[ids.length + 1];
            withBos[0] = markers.bos().getAsInt();
            System.arraycopy(ids, 0, withBos, 1, ids.length);
            ids = withBos;
        }
        if (ids.length == 0) {
            throw ApiException.badRequest("'prompt' is empty");
        }
        return ids;
    }
}
