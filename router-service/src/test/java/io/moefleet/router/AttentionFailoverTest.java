package io.moefleet.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.attention.AttentionServer;
import io.moefleet.attention.InstanceSettings;
import io.moefleet.model.GoldenData;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.sampling.Logits;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An attention instance stops in the middle of a generation: the sequences it held move to the other instance, which
 * recomputes their positions (no KV pool here: all of them), each on the path it had (one-token chunks on the decode
 * path, longer ones on the prefill path), and every step's logits are bitwise those of the same requests undisturbed.
 * When the instance serves again, it takes new sequences.
 */
@Timeout(120)
class AttentionFailoverTest {

    private static final Path MODEL = GoldenData.checkpoint("tiny-k2");
    private static final int STEPS = 14;
    private static final int STOP_AFTER = 6;

    /** A request in the test: its prompt's chunks (the prefill schedule), then greedy decode; its logits per step. */
    private static final class Request {
        final int[][] prefill;
        final Sequence sequence;
        final List<float[]> logits = new ArrayList<>();
        int nextChunk;
        int lastToken = -1;

        Request(int[][] prefill, InProcessFleet fleet) {
            this.prefill = prefill;
            this.sequence = fleet.router.transformer().newSequence();
            int[] prompt = Arrays.stream(prefill).flatMapToInt(Arrays::stream).toArray();
            assertEquals(0, fleet.router.admit(sequence, prompt), "no pool: nothing cached");
        }

        int[] nextTokens() {
            return nextChunk < prefill.length ? prefill[nextChunk] : new int[] {lastToken};
        }
    }

    // a prompt prefilled in two chunks whose second is one token (on the decode path), a one-token prompt, and plain
    // prompts: six sequences, three on each instance
    private static final int[][][] SCHEDULES = {
        {{5, 9, 14, 3, 8, 21, 30, 2}, {17}},
        {{42}},
        {{11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22}},
        {{7, 3, 9, 1, 4}},
        {{60, 61, 2, 9, 33, 8, 1}},
        {{3, 4, 5}},
    };
    private static final int[][] LATE = {{8, 6, 4, 2}};

    @Test
    void sequencesOfAStoppedInstanceMoveAndKeepTheirLogitsBitwise() throws Exception {
        try (InProcessFleet fleet = InProcessFleet.start(MODEL, 2, 2, OpenTelemetry.noop(), OpenTelemetry.noop())) {
            // undisturbed: the same requests before anything stops (logits do not depend on the instance)
            List<Request> undisturbed = requests(fleet);
            for (int step = 1; step <= STEPS; step++) {
                step(fleet, undisturbed);
            }
            undisturbed.forEach(request -> fleet.router.transformer().release(request.sequence));
            Request lateUndisturbed = new Request(LATE, fleet);
            for (int step = 1; step <= 3; step++) {
                step(fleet, List.of(lateUndisturbed));
            }
            fleet.router.transformer().release(lateUndisturbed.sequence);

            List<Request> disturbed = requests(fleet);
            for (int step = 1; step <= STEPS; step++) {
                if (step == STOP_AFTER + 1) {
                    fleet.stopInstance(0);
                }
                step(fleet, disturbed);
            }
            for (int i = 0; i < disturbed.size(); i++) {
                for (int step = 0; step < STEPS; step++) {
                    assertArrayEquals(undisturbed.get(i).logits.get(step), disturbed.get(i).logits.get(step),
                            "sequence " + i + ", step " + (step + 1) + ": logits not bitwise the undisturbed run's");
                }
            }
            JsonNode attention = state(fleet);
            assertTrue(attention.get(0).get("down").asBoolean(), attention.toString());
            assertEquals(0, attention.get(0).get("sequences").asInt(), "every sequence moved off instance 0: " + attention);
            assertEquals(6, attention.get(1).get("sequences").asInt(), attention.toString());

            // instance 0 back on its port: once its health answers, it takes new sequences again
            int port = Integer.parseInt(fleet.endpoints.attentionAddresses().getFirst().split(":")[1]);
            try (AutoCloseable restarted = restart(port)) {
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (state(fleet).get(0).get("down").asBoolean()) {
                    assertTrue(System.nanoTime() < deadline, "instance 0 still routed around 30 s after it serves again");
                    step(fleet, disturbed);   // recovered instances are taken back at a step's start
                    Thread.sleep(200);
                }
                Request late = new Request(LATE, fleet);
                for (int step = 1; step <= 3; step++) {
                    step(fleet, List.of(late));
                    assertArrayEquals(lateUndisturbed.logits.get(step - 1), late.logits.get(step - 1), "late sequence, step " + step);
                }
                assertEquals(1, state(fleet).get(0).get("sequences").asInt(), "the new sequence went to the instance back");
            }
        }
    }

    private static List<Request> requests(InProcessFleet fleet) {
        List<Request> requests = new ArrayList<>();
        for (int[][] schedule : SCHEDULES) {
            requests.add(new Request(schedule, fleet));
        }
        return requests;
    }

    /** One step of every request: its next chunk, or its last greedy token. */
    private static void step(InProcessFleet fleet, List<Request> requests) {
        List<StepChunk> chunks = new ArrayList<>();
        for (Request request : requests) {
            chunks.add(StepChunk.next(request.sequence, request.nextTokens(), false));
        }
        List<float[][]> logits = fleet.router.step(chunks);
        for (int i = 0; i < requests.size(); i++) {
            Request request = requests.get(i);
            request.logits.add(logits.get(i)[0]);
            request.nextChunk++;
            request.lastToken = Logits.argmax(logits.get(i)[0]);
        }
    }

    private static JsonNode state(InProcessFleet fleet) throws java.io.IOException {
        return new ObjectMapper().readTree(fleet.router.stateJson()).get("attention");
    }

    private static AutoCloseable restart(int port) throws java.io.IOException {
        AttentionServer server = new AttentionServer(new InstanceSettings(MODEL, port, 1), OpenTelemetry.noop());
        server.start();
        return server::stop;
    }
}
