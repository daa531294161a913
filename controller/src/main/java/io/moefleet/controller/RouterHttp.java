package io.moefleet.controller;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** GETs from a fleet's router (its metrics and its state), short timeouts: a slow router is no signal, not a stall. */
final class RouterHttp {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private RouterHttp() {}

    /**
     * The API key in {@code file} (its one line, trimmed): what the controller sends to routers that ask for keys.
     *
     * @throws IllegalArgumentException naming the file when it cannot be read or holds no key
     */
    static String readKey(java.nio.file.Path file) {
        String key;
        try {
            key = java.nio.file.Files.readString(file).strip();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the router API key file " + file + ": " + e.getMessage(), e);
        }
        if (key.isEmpty() || key.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException(file + " must hold one API key on one line");
        }
        return key;
    }

    /** The body of a 200 answer to {@code GET uri}, asked with the API key {@code key} when not null. */
    static String get(URI uri, String key) throws IOException {
        try {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5));
            if (key != null) {
                request.header("Authorization", "Bearer " + key);
            }
            HttpResponse<String> answer = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
            if (answer.statusCode() != 200) {
                throw new IOException(uri + " answered " + answer.statusCode());
            }
            return answer.body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading " + uri, e);
        }
    }
}
