package io.moefleet.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class SamplingParamsTest {

    @Test
    void builderDefaultsAreTemperatureOneAndEveryFilterOff() {
        SamplingParams params = SamplingParams.builder().build();

        assertEquals(1.0, params.temperature());
        assertEquals(0, params.topK());
        assertEquals(1.0, params.topP());
        assertEquals(0.0, params.minP());
        assertEquals(0.0, params.presencePenalty());
        assertEquals(0.0, params.frequencyPenalty());
        assertEquals(1.0, params.repetitionPenalty());
        assertEquals(Map.of(), params.logitBias());
        assertEquals(OptionalLong.empty(), params.seed());
    }

    @Test
    void greedyIsTemperatureZeroWithEverythingElseOff() {
        assertEquals(SamplingParams.builder().temperature(0).build(), SamplingParams.greedy());
    }

    @Test
    void builderSetsEveryField() {
        SamplingParams params = SamplingParams.builder()
                .temperature(0.7).topK(40).topP(0.9).minP(0.05)
                .presencePenalty(0.5).frequencyPenalty(-0.5).repetitionPenalty(1.1)
                .logitBias(Map.of(7, -100f)).seed(42)
                .build();

        assertEquals(new SamplingParams(0.7, 40, 0.9, 0.05, 0.5, -0.5, 1.1, Map.of(7, -100f), OptionalLong.of(42)),
                params);
    }

    @Test
    void acceptsTheEdgesOfEveryRange() {
        new SamplingParams(0, -1, 1, 0, -2, -2, 1e-3, Map.of(0, -100f), OptionalLong.empty());
        new SamplingParams(1e6, 1, Double.MIN_VALUE, 1, 2, 2, 1e3, Map.of(0, 100f), OptionalLong.of(-1));
    }

    @Test
    void rejectsEachOutOfRangeFieldNamingItAndTheRange() {
        assertRejected("temperature", ">= 0", () -> SamplingParams.builder().temperature(-0.1).build());
        assertRejected("temperature", ">= 0", () -> SamplingParams.builder().temperature(Double.NaN).build());
        assertRejected("temperature", ">= 0",
                () -> SamplingParams.builder().temperature(Double.POSITIVE_INFINITY).build());
        assertRejected("topK", ">= 1", () -> SamplingParams.builder().topK(-2).build());
        assertRejected("topP", "(0, 1]", () -> SamplingParams.builder().topP(0).build());
        assertRejected("topP", "(0, 1]", () -> SamplingParams.builder().topP(1.01).build());
        assertRejected("minP", "[0, 1]", () -> SamplingParams.builder().minP(-0.01).build());
        assertRejected("minP", "[0, 1]", () -> SamplingParams.builder().minP(1.5).build());
        assertRejected("presencePenalty", "[-2, 2]", () -> SamplingParams.builder().presencePenalty(2.01).build());
        assertRejected("frequencyPenalty", "[-2, 2]",
                () -> SamplingParams.builder().frequencyPenalty(-2.01).build());
        assertRejected("repetitionPenalty", "> 0", () -> SamplingParams.builder().repetitionPenalty(0).build());
        assertRejected("repetitionPenalty", "> 0", () -> SamplingParams.builder().repetitionPenalty(-1).build());
        assertRejected("logitBias", "[-100, 100]",
                () -> SamplingParams.builder().logitBias(Map.of(3, 100.5f)).build());
        assertRejected("logitBias", "[-100, 100]",
                () -> SamplingParams.builder().logitBias(Map.of(3, Float.NaN)).build());
        assertRejected("logitBias", ">= 0", () -> SamplingParams.builder().logitBias(Map.of(-1, 1f)).build());
        assertRejected("logitBias", "empty map", () -> SamplingParams.builder().logitBias(null).build());
        assertRejected("seed", "OptionalLong", () -> SamplingParams.builder().seed((OptionalLong) null).build());
    }

    @Test
    void logitBiasIsCopiedAndImmutable() {
        Map<Integer, Float> bias = new HashMap<>(Map.of(1, 5f));
        SamplingParams params = SamplingParams.builder().logitBias(bias).build();
        bias.put(2, 3f);

        assertEquals(Map.of(1, 5f), params.logitBias());
        assertThrows(UnsupportedOperationException.class, () -> params.logitBias().put(3, 1f));
    }

    private static void assertRejected(String field, String range, Executable construction) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, construction);
        assertTrue(error.getMessage().startsWith(field), () -> "message should name " + field + ": " + error);
        assertTrue(error.getMessage().contains(range), () -> "message should give the range " + range + ": " + error);
    }
}
