package io.moefleet.cli.fleet;

import io.grpc.Grpc;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.moefleet.router.LayerCallRecorder;
import io.moefleet.router.LayerCallSummary;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The floor under any per-layer gRPC call: round trips of an empty unary call (the standard health Check, which the
 * services answer without tracing) to a running service, made as {@code RemoteExperts} makes its calls (future stub,
 * direct executor, the caller waiting on the future), after a warm-up that lets the JIT compile both ends.
 */
final class EmptyCallFloor {

    private EmptyCallFloor() {}

    static LayerCallSummary measure(String address, ChannelCredentials credentials, int warmUpCalls, int calls) {
        ManagedChannel channel = Grpc.newChannelBuilder(address, credentials).directExecutor().build();
        try {
            HealthGrpc.HealthFutureStub health = HealthGrpc.newFutureStub(channel);
            HealthCheckRequest empty = HealthCheckRequest.getDefaultInstance();
            for (int i = 0; i < warmUpCalls; i++) {
                health.check(empty).get();
            }
            LayerCallRecorder recorder = new LayerCallRecorder();
            for (int i = 0; i < calls; i++) {
                long start = System.nanoTime();
                health.check(empty).get();
                recorder.record(System.nanoTime() - start, 0, 0, 0);
            }
            return recorder.summary();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the empty call to " + address + " failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while measuring the empty gRPC call", e);
        } finally {
            channel.shutdownNow();
            try {
                channel.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
