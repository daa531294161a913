package io.moefleet.router.api;

import java.util.UUID;

/** Response ids as OpenAI and Anthropic clients expect them: a prefix and a random hex tail. */
final class ApiIds {

    private ApiIds() {}

    static String next(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().replace("-", "");
    }
}
