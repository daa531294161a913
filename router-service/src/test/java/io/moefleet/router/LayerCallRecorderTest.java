package io.moefleet.router;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class LayerCallRecorderTest {

    @Test
    void percentilesAreNearestRankInMicrosecondsAndBytesAreMeansPerCall() {
        LayerCallRecorder recorder = new LayerCallRecorder();
        for (int i = 100; i >= 1; i--) {   // 1 .. 100 µs, recorded out of order
            recorder.record(i * 1_000L, i * 500L, 10 * i, 20);
        }
        LayerCallSummary summary = recorder.summary();
        assertEquals(100, summary.calls());
        assertEquals(50.0, summary.p50Micros());
        assertEquals(99.0, summary.p99Micros());
        assertEquals(25.0, summary.serverP50Micros());
        assertEquals(49.5, summary.serverP99Micros());
        assertEquals(505.0, summary.bytesSentPerCall());
        assertEquals(20.0, summary.bytesReceivedPerCall());
    }

    @Test
    void percentilesCoverTheMostRecentWindowAndResetForgetsEverything() {
        LayerCallRecorder recorder = new LayerCallRecorder();
        for (int i = 0; i < LayerCallRecorder.WINDOW; i++) {
            recorder.record(1_000_000, 0, 0, 0);   // 1 ms, then pushed out of the window
        }
        for (int i = 0; i < LayerCallRecorder.WINDOW; i++) {
            recorder.record(2_000, 0, 0, 0);
        }
        assertEquals(2.0, recorder.summary().p99Micros());
        assertEquals(2L * LayerCallRecorder.WINDOW, recorder.summary().calls());

        recorder.reset();
        recorder.record(7_000, 3_000, 1, 1);
        assertEquals(new LayerCallSummary(1, 7.0, 7.0, 3.0, 3.0, 1, 1, 0), recorder.summary());
    }

    @Test
    void theHiddenShareIsTheWallTimeNotSpentWaiting() {
        LayerCallRecorder recorder = new LayerCallRecorder();
        recorder.record(4_000, 0, 0, 0, 1_000);   // waited 1 of its 4 us
        recorder.record(6_000, 0, 0, 0, 6_000);   // waited throughout
        assertEquals(1 - 7.0 / 10, recorder.summary().hiddenShare(), 1e-12);
        recorder.reset();
        assertEquals(0, recorder.summary().hiddenShare());
    }
}
