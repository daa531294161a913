package io.moefleet.cli.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A row's ratio is the median of its rounds' ratios, each round's fleet row over the engine row measured just before. */
class FleetBenchRoundsTest {

    @Test
    void theRatioIsTheMedianOfTheRoundsRatiosNotTheRatioOfMedians() {
        // the machine switched to its fast state during the third round's fleet row: the rounds read 0.8, 0.8, 1.6, the
        // ratio of the medians (160 over 100) 1.6
        double[] engine = {100, 200, 100};
        double[] fleet = {80, 160, 160};
        assertEquals(0.8, FleetBench.medianRatio(fleet, engine), 1e-12);
        assertEquals(100, FleetBench.median(engine), 0);
        assertEquals(160, FleetBench.median(fleet), 0);
        assertEquals(0.775, FleetBench.medianRatio(new double[] {80, 150}, new double[] {100, 200}), 1e-12, "an even count averages the middle two");
    }
}
