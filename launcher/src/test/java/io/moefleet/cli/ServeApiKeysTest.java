package io.moefleet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.moefleet.router.api.ApiKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code serve}'s key options: a key with its limits, a keys file, metrics left open, and the combinations refused. */
class ServeApiKeysTest {

    @TempDir
    Path dir;

    private static ApiKeys keys(String... argv) {
        String[] all = new String[argv.length + 1];
        all[0] = "serve";
        System.arraycopy(argv, 0, all, 1, argv.length);
        return ServeCommand.apiKeys(Args.parse("serve", all, 1, Set.of("single-process", "open-metrics")));
    }

    @Test
    void keysLimitsAndOpenMetrics() throws Exception {
        assertSame(ApiKeys.OPEN, keys());
        ApiKeys one = keys("--api-key", "sk-1", "--key-rpm", "60", "--key-concurrency", "4");
        assertEquals(new ApiKeys.Limits(60, 4), one.keys().get("sk-1"));
        assertEquals(false, one.openMetrics());
        Path file = Files.writeString(dir.resolve("keys"), "sk-a rpm=10\nsk-b concurrent=2\n");
        ApiKeys both = keys("--api-keys", file.toString(), "--api-key", "sk-c", "--open-metrics");
        assertEquals(3, both.keys().size());
        assertEquals(new ApiKeys.Limits(0, 2), both.keys().get("sk-b"));
        assertEquals(true, both.openMetrics());
    }

    @Test
    void limitsWithoutAKeyAndOpenMetricsWithoutKeysAreUsageErrors() {
        assertEquals("serve: --key-rpm and --key-concurrency go with --api-key (a keys file gives each key its own)",
                assertThrows(UsageException.class, () -> keys("--key-rpm", "5")).getMessage());
        assertEquals("serve: --open-metrics goes with --api-key or --api-keys (without keys all is open)",
                assertThrows(UsageException.class, () -> keys("--open-metrics")).getMessage());
    }
}
