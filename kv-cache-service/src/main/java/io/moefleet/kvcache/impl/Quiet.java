package io.moefleet.kvcache.impl;

import java.util.Properties;

/** Settings every Hazelcast instance of ours gets, member or client. */
final class Quiet {

    private Quiet() {
    }

    static void apply(Properties properties) {
        // never call home: a fleet must not reach the internet on its own
        properties.setProperty("hazelcast.phone.home.enabled", "false");
        // java.util.logging, which goes to stderr like every log of ours
        properties.setProperty("hazelcast.logging.type", "jdk");
    }
}
