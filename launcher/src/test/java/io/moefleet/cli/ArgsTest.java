package io.moefleet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class ArgsTest {

    private static Args parse(String... argv) {
        return Args.parse("serve", argv, 0, Set.of("single-process"));
    }

    @Test
    void threadsDefaultToTheCoresTheProcessMayUse() {
        // serve used to default to one thread: the engine behind it and a fleet's router then computed on one core
        assertEquals(Runtime.getRuntime().availableProcessors(), parse("--single-process").threads());
        assertEquals(3, parse("--threads", "3").threads());
        assertEquals(5, parse("--threads=5").threads());
    }

    @Test
    void threadsBelowOneOrNotANumberNameTheOption() {
        UsageException zero = assertThrows(UsageException.class, () -> parse("--threads", "0").threads());
        assertTrue(zero.getMessage().contains("--threads must be >= 1, got 0"), zero.getMessage());
        UsageException word = assertThrows(UsageException.class, () -> parse("--threads", "two").threads());
        assertTrue(word.getMessage().contains("--threads must be an integer, got 'two'"), word.getMessage());
    }
}
