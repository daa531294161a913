package io.moefleet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ApiLoadWarmUpTest {

    /** A clock that each step moves by the step's length, from the end of the warm-up's least time. */
    private static final class Steps implements ApiLoad.WarmUp.Step {
        private final List<Double> rates;
        private final Duration stepLength;
        private Duration elapsed;
        private int run;

        Steps(Duration least, Duration stepLength, Double... rates) {
            this.rates = List.of(rates);
            this.stepLength = stepLength;
            this.elapsed = least;
        }

        @Override
        public double run() {
            elapsed = elapsed.plus(stepLength);
            return rates.get(Math.min(run++, rates.size() - 1));
        }
    }

    private static int stepsRun(ApiLoad.WarmUp warmUp, Double... rates) throws Exception {
        Steps steps = new Steps(warmUp.least(), warmUp.step(), rates);
        return warmUp.stepsPastLeast(() -> steps.elapsed, steps);
    }

    private static ApiLoad.WarmUp warmUp(int leastS, int mostS, int stepS) {
        return new ApiLoad.WarmUp(Duration.ofSeconds(leastS), Duration.ofSeconds(mostS), Duration.ofSeconds(stepS));
    }

    @Test
    void goesOnWhileTheRateRisesAndStopsAtTheFirstStepThatDoesNotBeatTheBestByMoreThanThreePercent() throws Exception {
        assertEquals(4, stepsRun(warmUp(30, 600, 15), 10.0, 20.0, 30.0, 30.5, 40.0));   // 30.5 is within 3% of 30
        assertEquals(2, stepsRun(warmUp(30, 600, 15), 10.0, 8.0, 40.0));                // a slower step: done
        assertEquals(3, stepsRun(warmUp(30, 600, 15), 10.0, 20.0, 15.0, 40.0));         // below the best, not the last
    }

    @Test
    void stopsWhenAnotherStepWouldPassTheMost() throws Exception {
        // still rising after every step: steps start at 30, 45, 60 and 75 s, and one at 90 would end past 90
        assertEquals(4, stepsRun(warmUp(30, 90, 15), 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0));
        assertEquals(0, stepsRun(warmUp(30, 30, 15), 1.0));
        assertEquals(0, stepsRun(warmUp(30, 44, 15), 1.0));
    }

    @Test
    void aStepOfZeroMeansNoStepsAtAll() throws Exception {
        assertEquals(0, stepsRun(warmUp(0, 600, 0), 1.0, 2.0));
    }
}
