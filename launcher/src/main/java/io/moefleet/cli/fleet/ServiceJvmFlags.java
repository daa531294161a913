package io.moefleet.cli.fleet;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.jar.JarFile;

/**
 * The JVM flags of the service processes: the root pom's {@code fleet.jvm.flags} for every service and
 * kv-cache-service's Hazelcast flags for the KV members. The build writes them into the launcher jar's manifest;
 * a system property of the same name wins (the tests run from class folders, without that manifest).
 */
record ServiceJvmFlags(List<String> common, List<String> hazelcast) {

    static ServiceJvmFlags ofThisBuild() {
        return new ServiceJvmFlags(read("fleet.jvm.flags", "Fleet-Jvm-Flags"), read("hazelcast.jvm.flags", "Hazelcast-Jvm-Flags"));
    }

    private static List<String> read(String property, String manifestEntry) {
        String flags = System.getProperty(property);
        if (flags == null) {
            flags = fromManifest(manifestEntry);
        }
        if (flags == null || flags.isBlank()) {
            throw new IllegalStateException("the service JVM flags are unknown: run from the launcher jar (./fleet), "
                    + "or set -D" + property);
        }
        return Arrays.asList(flags.trim().split("\\s+"));
    }

    private static String fromManifest(String entry) {
        try {
            Path location = Path.of(ServiceJvmFlags.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (!Files.isRegularFile(location)) {
                return null;
            }
            try (JarFile jar = new JarFile(location.toFile())) {
                return jar.getManifest() == null ? null : jar.getManifest().getMainAttributes().getValue(entry);
            }
        } catch (IOException | URISyntaxException e) {
            return null;
        }
    }
}
