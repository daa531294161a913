package io.moefleet.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kubernetes.client.extended.leaderelection.LeaderElectionConfig;
import io.kubernetes.client.extended.leaderelection.LeaderElector;
import io.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Two controllers elect one leader through a Lease on the fake API server; the second takes over when the first stops. */
@Timeout(60)
class LeaderElectionTest {

    @Test
    void oneLeadsAndTheOtherTakesOverWhenItStops() throws Exception {
        try (FakeApiServer server = new FakeApiServer()) {
            Set<String> leading = ConcurrentHashMap.newKeySet();
            CountDownLatch firstLeads = new CountDownLatch(1);
            CountDownLatch secondLeads = new CountDownLatch(1);
            LeaderElector first = elector(server, "controller-a");
            LeaderElector second = elector(server, "controller-b");
            Thread a = Thread.ofPlatform().start(() -> first.run(() -> {
                leading.add("controller-a");
                firstLeads.countDown();
            }, () -> leading.remove("controller-a")));
            assertTrue(firstLeads.await(20, TimeUnit.SECONDS), "the first controller never led");
            Thread b = Thread.ofPlatform().start(() -> second.run(() -> {
                leading.add("controller-b");
                secondLeads.countDown();
            }, () -> leading.remove("controller-b")));
            Thread.sleep(ControllerMain.RETRY_PERIOD.toMillis() / 2 + 1500);   // several of the second's retries
            assertEquals(Set.of("controller-a"), leading, "one leader while the first renews its lease");
            assertEquals("controller-a", holder(server));

            first.close();   // the first stops (its pod goes away): its lease is no longer renewed
            a.join(10_000);
            assertTrue(secondLeads.await(30, TimeUnit.SECONDS), "the second controller never took over");
            assertEquals(Set.of("controller-b"), leading);
            assertEquals("controller-b", holder(server));
            second.close();
            b.join(10_000);
        }
    }

    private static LeaderElector elector(FakeApiServer server, String identity) {
        // short terms, so that the take-over happens within the test
        return new LeaderElector(new LeaderElectionConfig(new LeaseLock("fleet-a", "moefleet-controller", identity, server.client),
                Duration.ofSeconds(3), Duration.ofSeconds(2), Duration.ofMillis(300)));
    }

    private static String holder(FakeApiServer server) throws Exception {
        return new CoordinationV1Api(server.client).readNamespacedLease("moefleet-controller", "fleet-a").execute()
                .getSpec().getHolderIdentity();
    }
}
