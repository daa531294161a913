package io.moefleet.tokenizer;

import io.moefleet.model.CheckpointException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The mergeable ranks of a tiktoken vocabulary ({@code tiktoken.model}, {@code cl100k_base.tiktoken}): one line per
 * token, {@code base64(token bytes) rank}. A token's rank is its id and its merge priority.
 */
final class TiktokenRanks {

    private TiktokenRanks() {}

    /** The token bytes by rank; a rank the file skips holds {@code null}. */
    static byte[][] read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString());
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** @param source names the stream in errors */
    static byte[][] read(InputStream in, String source) throws IOException {
        List<byte[]> byRank = new ArrayList<>();
        Map<String, Integer> rankByToken = new HashMap<>();
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
        String line;
        for (int n = 1; (line = reader.readLine()) != null; n++) {
            if (line.isBlank()) {
                continue;
            }
            String[] fields = line.strip().split(" ");
            if (fields.length != 2) {
                throw new CheckpointException(source + " line " + n + ": expected 'base64(token) rank', got '" + line + "'");
            }
            byte[] token;
            int rank;
            try {
                token = Base64.getDecoder().decode(fields[0]);
                rank = Integer.parseInt(fields[1]);
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(source + " line " + n + ": " + e.getMessage(), e);
            }
            if (rank < 0 || token.length == 0) {
                throw new CheckpointException(source + " line " + n + ": a token needs bytes and a rank >= 0");
            }
            if (rank > byRank.size() + Tokenizers.MAX_IDS_PAST_RANKS) {
                // the table is by rank: a rank far past the tokens read would make it as large as that rank
                throw new CheckpointException(source + " line " + n + ": rank " + rank + " is more than "
                        + Tokenizers.MAX_IDS_PAST_RANKS + " past the " + byRank.size() + " ranks before it");
            }
            while (byRank.size() <= rank) {
                byRank.add(null);
            }
            if (byRank.get(rank) != null) {
                throw new CheckpointException(source + " line " + n + ": rank " + rank + " appears twice");
            }
            Integer other = rankByToken.put(fields[0], rank);
            if (other != null) {
                throw new CheckpointException(source + " line " + n + ": the token of rank " + rank
                        + " is already rank " + other);
            }
            byRank.set(rank, token);
        }
        byte[][] ranks = byRank.toArray(new byte[0][]);
        checkEveryByteIsAToken(ranks, source);
        return ranks;
    }

    /** BPE starts from single bytes: without all 256 of them some text could not be encoded at all. */
    private static void checkEveryByteIsAToken(byte[][] ranks, String source) {
        boolean[] present = new boolean[256];
        for (byte[] token : ranks) {
            if (token != null && token.length == 1) {
                present[token[0] & 0xFF] = true;
            }
        }
        for (int b = 0; b < 256; b++) {
            if (!present[b]) {
                throw new CheckpointException(source + " has no token for the single byte 0x"
                        + String.format("%02x", b) + ": text containing it could not be encoded");
            }
        }
    }
}
