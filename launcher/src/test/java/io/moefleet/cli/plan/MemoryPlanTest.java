package io.moefleet.cli.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.model.ModelConfig;
import org.junit.jupiter.api.Test;

class MemoryPlanTest {

    private static final ModelConfig K2 = WeightBytesTest.k2();

    @Test
    void onePodPerGpuEachWithTheNonExpertWeightsAndOneRedundantExpert() {
        MemoryPlan plan = MemoryPlan.of(K2, WeightFormat.FP8, HardwareSpec.gpus(6, 8, 141), 131_072, 1);

        assertEquals(48, plan.pods());
        assertEquals(9, plan.expertsPerPod(), "8 + one redundant, as DeepSeek's prefill EP32 runs 9 per GPU");
        assertEquals(48, plan.redundantExperts());
        MemoryPlan.PodMemory pod = plan.pod();
        assertEquals(9 * plan.weights().routedExpert(), pod.routedExperts());
        assertEquals(plan.weights().nonExpert(), pod.nonExpert());
        assertEquals((pod.routedExperts() + pod.nonExpert()) / 10, pod.activations());
        assertEquals(pod.capacity() - pod.total(), pod.headroom());
    }

    @Test
    void theSlotsLeftByRoundingHoldRedundantExpertsToo() {
        MemoryPlan plan = MemoryPlan.of(K2, WeightFormat.FP8, HardwareSpec.gpus(10, 1, 141), 4096, 1);
        assertEquals(40, plan.expertsPerPod(), "ceil(384 / 10) = 39, + 1");
        assertEquals(16, plan.redundantExperts());
    }

    @Test
    void noRedundantExpertWhenItWouldNotFit() {
        // 16 pods of 24 experts need 88.2 GiB at 128K; one more expert (2.5 GiB and its activation share) would not fit in 90
        MemoryPlan plan = MemoryPlan.of(K2, WeightFormat.FP8, HardwareSpec.gpus(2, 8, 90), 131_072, 1);
        assertTrue(plan.fits());
        assertEquals(24, plan.expertsPerPod());
        assertEquals(0, plan.redundantExperts());
    }

    @Test
    void theBusiestPodHoldsWholeSequences() {
        MemoryPlan plan = MemoryPlan.of(K2, WeightFormat.FP8, HardwareSpec.gpus(2, 8, 141), 8192, 17);
        assertEquals(70_272, plan.kvBytesPerToken());
        assertEquals(2L * 8192 * 70_272, plan.pod().kvCache(), "17 sequences over 16 pods: one pod holds 2");
    }

    @Test
    void aPlanThatDoesNotFitNamesTheShortfallAndWhatWouldFit() {
        MemoryPlan plan = MemoryPlan.of(K2, WeightFormat.FP8, HardwareSpec.gpus(1, 8, 80), 131_072, 1);
        assertFalse(plan.fits());
        String why = plan.shortfall();
        assertTrue(why.startsWith("kimi_k2 (1,026.4B parameters) in fp8 at 131,072 tokens x 1 sequence needs "), why);
        assertTrue(why.contains("short by 73.1 GiB per pod, 585.1 GiB in all"), why);
        assertTrue(why.endsWith("20 GPUs of 80 GiB would fit"), why);

        MemoryPlan tiny = MemoryPlan.of(K2, WeightFormat.BF16, HardwareSpec.gpus(1, 8, 24), 131_072, 1);
        assertTrue(tiny.shortfall().contains("no number of 24 GiB GPUs fits"), tiny.shortfall());
    }

    @Test
    void contextBeyondTheModelIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MemoryPlan.of(K2, WeightFormat.FP8, HardwareSpec.gpus(2, 8, 141), 131_073, 1));
        assertTrue(e.getMessage().contains("131073"), e.getMessage());
    }
}
