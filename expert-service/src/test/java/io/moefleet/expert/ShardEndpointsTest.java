package io.moefleet.expert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import io.moefleet.expert.impl.ExpertServiceImpl;
import io.moefleet.model.GoldenData;
import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.ExpertOutputs;
import io.moefleet.model.forward.LocalExperts;
import io.moefleet.model.forward.Routing;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.proto.expert.ExpertServiceGrpc;
import io.moefleet.proto.expert.ForwardRequest;
import io.moefleet.proto.expert.ForwardResponse;
import io.moefleet.proto.expert.StatsRequest;
import io.moefleet.proto.expert.StatsResponse;
import io.moefleet.proto.expert.TokenExperts;
import io.moefleet.rpc.FloatRows;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One shard of tiny-k2 (experts 8..15 of 2 shards) called directly: health, reflection, Stats, and requests it must refuse. */
class ShardEndpointsTest {

    private static ExpertServer server;
    private static ManagedChannel channel;

    @BeforeAll
    static void start() throws IOException {
        ExpertPlacement placement = ExpertPlacement.spread(16, 2, 1);
        server = new ExpertServer(new ShardSettings(GoldenData.checkpoint("tiny-k2"), placement, 1, 0, 1), OpenTelemetry.noop()).start();
        channel = Grpc.newChannelBuilder("127.0.0.1:" + server.port(), InsecureChannelCredentials.create()).build();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.stop();
    }

    @Test
    void healthAnswersServingForTheServerAndTheExpertService() {
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
        for (String service : List.of("", ExpertServiceGrpc.SERVICE_NAME)) {
            assertEquals(ServingStatus.SERVING, health.check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus(),
                    "service '" + service + "'");
        }
    }

    @Test
    void reflectionListsTheServicesAndServesTheSchema() throws Exception {
        List<String> services = reflect(ServerReflectionRequest.newBuilder().setListServices("").build())
                .getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName).toList();
        assertTrue(services.contains(ExpertServiceGrpc.SERVICE_NAME), services.toString());
        assertTrue(services.contains("grpc.health.v1.Health"), services.toString());

        ServerReflectionResponse schema = reflect(ServerReflectionRequest.newBuilder()
                .setFileContainingSymbol(ExpertServiceGrpc.SERVICE_NAME).build());
        FileDescriptorProto file = FileDescriptorProto.parseFrom(schema.getFileDescriptorResponse().getFileDescriptorProto(0));
        assertEquals("expert.proto", file.getName());
        assertEquals("Forward", file.getService(0).getMethod(0).getName());
    }

    @Test
    void statsListEveryHeldExpertOfEveryMoeLayer() {
        StatsResponse stats = ExpertServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                .stats(StatsRequest.getDefaultInstance());
        assertEquals(1, stats.getShard());
        List<String> held = new ArrayList<>();
        stats.getExpertsList().forEach(e -> held.add(e.getLayer() + ":" + e.getExpert()));
        List<String> expected = new ArrayList<>();
        for (int layer = 1; layer <= 2; layer++) {
            for (int e = 8; e < 16; e++) {
                expected.add(layer + ":" + e);
            }
        }
        assertEquals(expected, held);
    }

    @Test
    void forwardAppliesTheExpertsAndRefusesWhatDoesNotFit() {
        float[][] rows = {new float[64], new float[64]};
        rows[0][0] = 1f;
        rows[1][5] = -2f;
        ForwardRequest good = ForwardRequest.newBuilder()
                .setLayer(1).setStepId(7).setHiddenSize(64)
                .setHiddenStates(FloatRows.encode(rows, 2, 64))
                .addTokens(TokenExperts.newBuilder().addExperts(9))
                .addTokens(TokenExperts.newBuilder().addExperts(15).addExperts(8))
                .build();
        ForwardResponse answer = forward(good);
        assertEquals(FloatRows.byteSize(3, 64), answer.getExpertOutputs().size(), "one row per (token, expert)");
        float[][] outputs = FloatRows.decode(answer.getExpertOutputs(), 3, 64);
        try (Checkpoint checkpoint = Checkpoint.open(GoldenData.checkpoint("tiny-k2")); Workers workers = new Workers(1)) {
            ModelWeights weights = ModelWeights.load(checkpoint);
            float[][][] expected = new LocalExperts(layer -> weights.layers()[layer].moe().experts(), 64, new MatMul(workers))
                    .expertOutputs(1, rows, 2, new int[][] {{9}, {15, 8}});
            assertArrayEquals(expected[0][0], outputs[0], "token 0, expert 9: the engine's own expert, bit for bit");
            assertArrayEquals(expected[1][0], outputs[1], "token 1, expert 15");
            assertArrayEquals(expected[1][1], outputs[2], "token 1, expert 8");
            // and the sum the router makes of them is the engine's
            Routing[] routings = {new Routing(new int[] {9}, new float[] {0.5f}, 0f, 0f),
                                  new Routing(new int[] {15, 8}, new float[] {0.25f, 1f}, 0f, 0f)};
            float[][] engine = new float[2][64];
            new LocalExperts(layer -> weights.layers()[layer].moe().experts(), 64, new MatMul(workers)).dispatch(1, rows, 2, routings)
                    .addInto(engine);
            float[][] combined = new float[2][64];
            LocalExperts.addWeighted(routings, 2, ExpertOutputs.rows(new float[][][] {{outputs[0]}, {outputs[1], outputs[2]}}),
                    combined, 64);
            assertArrayEquals(engine[1], combined[1], "token 1's weighted sum, expert 8 before expert 15");
        }

        assertRefused(Status.Code.INVALID_ARGUMENT, "layer 0 is not an MoE layer", good.toBuilder().setLayer(0).build());
        assertRefused(Status.Code.INVALID_ARGUMENT, "hidden_size 32 differs from the model's 64",
                good.toBuilder().setHiddenSize(32).build());
        assertRefused(Status.Code.INVALID_ARGUMENT, "hidden_states holds 4 bytes; 2 tokens x 64 float32 need 512",
                good.toBuilder().setHiddenStates(ByteString.copyFrom(new byte[4])).build());
        assertRefused(Status.Code.INVALID_ARGUMENT, "token row 1 names no expert",
                good.toBuilder().setTokens(1, TokenExperts.newBuilder()).build());
        assertRefused(Status.Code.INVALID_ARGUMENT, "token row 1 names expert 8 twice",
                good.toBuilder().setTokens(1, TokenExperts.newBuilder().addExperts(8).addExperts(15).addExperts(8)).build());
        assertRefused(Status.Code.INVALID_ARGUMENT, "expert 16 is outside the model's 16 routed experts",
                good.toBuilder().setTokens(0, TokenExperts.newBuilder().addExperts(16)).build());
        assertRefused(Status.Code.FAILED_PRECONDITION, "shard 1 does not hold layer 1 expert 3",
                good.toBuilder().setTokens(0, TokenExperts.newBuilder().addExperts(3)).build());
    }

    @Test
    void whileLoadingEveryMethodAnswersUnavailable() throws Exception {
        Server loading = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
                .addService(ExpertServiceImpl.whileLoading(3))
                .build()
                .start();
        ManagedChannel toLoading = Grpc.newChannelBuilder("127.0.0.1:" + loading.getPort(), InsecureChannelCredentials.create()).build();
        try {
            ExpertServiceGrpc.ExpertServiceBlockingStub stub = ExpertServiceGrpc.newBlockingStub(toLoading).withDeadlineAfter(5, TimeUnit.SECONDS);
            for (Runnable call : List.<Runnable>of(() -> stub.forward(ForwardRequest.getDefaultInstance()),
                    () -> stub.stats(StatsRequest.getDefaultInstance()))) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
                assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
                assertEquals("expert shard 3 is still loading its experts", e.getStatus().getDescription());
            }
        } finally {
            toLoading.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            loading.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static ForwardResponse forward(ForwardRequest request) {
        return ExpertServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS).forward(request);
    }

    private static void assertRefused(Status.Code code, String message, ForwardRequest request) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> forward(request));
        assertEquals(code, e.getStatus().getCode(), e.getMessage());
        assertTrue(e.getStatus().getDescription().contains(message), e.getMessage());
    }

    private static ServerReflectionResponse reflect(ServerReflectionRequest request) throws Exception {
        CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
        StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
                .withDeadlineAfter(5, TimeUnit.SECONDS)
                .serverReflectionInfo(new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse response) {
                        answer.complete(response);
                    }

                    @Override
                    public void onError(Throwable t) {
                        answer.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        answer.completeExceptionally(new AssertionError("no reflection answer"));
                    }
                });
        requests.onNext(request);
        requests.onCompleted();
        return answer.get(5, TimeUnit.SECONDS);
    }
}
