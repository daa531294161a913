package io.moefleet.attention;

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
import io.moefleet.attention.impl.AttentionServiceImpl;
import io.moefleet.model.GoldenData;
import io.moefleet.proto.attention.AttendRequest;
import io.moefleet.proto.attention.AttendResponse;
import io.moefleet.proto.attention.AttentionServiceGrpc;
import io.moefleet.proto.attention.Chunk;
import io.moefleet.proto.attention.ReleaseRequest;
import io.moefleet.proto.attention.StatsRequest;
import io.moefleet.proto.attention.StatsResponse;
import io.moefleet.rpc.FloatRows;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One attention instance of tiny-k2 called directly: health, reflection, Attend, Release, Stats, and requests it must refuse. */
class AttentionEndpointsTest {

    private static final int HIDDEN = 64;
    private static AttentionServer server;
    private static ManagedChannel channel;

    @BeforeAll
    static void start() throws IOException {
        server = new AttentionServer(new InstanceSettings(GoldenData.checkpoint("tiny-k2"), 0, 1), OpenTelemetry.noop()).start();
        channel = Grpc.newChannelBuilder("127.0.0.1:" + server.port(), InsecureChannelCredentials.create()).build();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.stop();
    }

    @Test
    void healthAnswersServingForTheServerAndTheAttentionService() {
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
        for (String service : List.of("", AttentionServiceGrpc.SERVICE_NAME)) {
            assertEquals(ServingStatus.SERVING, health.check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus(),
                    "service '" + service + "'");
        }
    }

    @Test
    void reflectionListsTheServicesAndServesTheSchema() throws Exception {
        List<String> services = reflect(ServerReflectionRequest.newBuilder().setListServices("").build())
                .getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName).toList();
        assertTrue(services.contains(AttentionServiceGrpc.SERVICE_NAME), services.toString());
        assertTrue(services.contains("grpc.health.v1.Health"), services.toString());

        ServerReflectionResponse schema = reflect(ServerReflectionRequest.newBuilder()
                .setFileContainingSymbol(AttentionServiceGrpc.SERVICE_NAME).build());
        FileDescriptorProto file = FileDescriptorProto.parseFrom(schema.getFileDescriptorResponse().getFileDescriptorProto(0));
        assertEquals("attention.proto", file.getName());
        assertEquals(List.of("Attend", "Release", "Stats", "Admit", "HotPrefix"),
                file.getService(0).getMethodList().stream().map(m -> m.getName()).toList());
    }

    @Test
    void attendStartsASequenceAtPositionZeroAndReleaseFreesIt() {
        long id = 1_000_001;
        StatsResponse before = stats();
        AttendResponse answer = stub().attend(request(0, id, 0, 3));
        assertEquals(FloatRows.byteSize(3, HIDDEN), answer.getOutput().size());
        StatsResponse after = stats();
        assertEquals(before.getSequencesStarted() + 1, after.getSequencesStarted());
        assertEquals(before.getSequencesHeld() + 1, after.getSequencesHeld());

        // the next layer of the same step finds the sequence; a later position does not exist yet
        stub().attend(request(1, id, 0, 3));
        assertRefused(Status.Code.FAILED_PRECONDITION, "a chunk at position 5 but only 0 positions are cached", request(0, id, 5, 1));

        assertEquals(1, stub().release(ReleaseRequest.newBuilder().addSequenceIds(id).addSequenceIds(42).build()).getReleased());
        assertEquals(before.getSequencesHeld(), stats().getSequencesHeld());
        assertRefused(Status.Code.FAILED_PRECONDITION, "sequence " + id + " is not held here", request(1, id, 0, 3));
    }

    @Test
    void attendRefusesWhatDoesNotFit() {
        AttendRequest good = request(0, 2_000_001, 0, 2);
        assertRefused(Status.Code.INVALID_ARGUMENT, "layer 3 is outside the model's 3 layers", good.toBuilder().setLayer(3).build());
        assertRefused(Status.Code.INVALID_ARGUMENT, "hidden_size 32 differs from the model's 64",
                good.toBuilder().setHiddenSize(32).build());
        assertRefused(Status.Code.INVALID_ARGUMENT, "hidden_states holds 4 bytes; 2 tokens x 64 float32 need 512",
                good.toBuilder().setHiddenStates(ByteString.copyFrom(new byte[4])).build());
        assertRefused(Status.Code.INVALID_ARGUMENT, "no chunks", good.toBuilder().clearChunks().build());
        assertRefused(Status.Code.INVALID_ARGUMENT, "has no tokens",
                good.toBuilder().setChunks(0, Chunk.newBuilder().setSequenceId(2_000_001)).build());
        assertRefused(Status.Code.INVALID_ARGUMENT, "sequence 2000001 appears twice in one call",
                good.toBuilder().setChunks(0, Chunk.newBuilder().setSequenceId(2_000_001).addTokenIds(7))
                        .addChunks(Chunk.newBuilder().setSequenceId(2_000_001).addTokenIds(8)).build());
        assertRefused(Status.Code.FAILED_PRECONDITION, "only Admit or position 0 of layer 0 starts a sequence",
                good.toBuilder().setLayer(1).build());
    }

    @Test
    void whileLoadingEveryMethodAnswersUnavailable() throws Exception {
        Server loading = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
                .addService(AttentionServiceImpl.whileLoading())
                .build()
                .start();
        ManagedChannel toLoading = Grpc.newChannelBuilder("127.0.0.1:" + loading.getPort(), InsecureChannelCredentials.create()).build();
        try {
            AttentionServiceGrpc.AttentionServiceBlockingStub stub = AttentionServiceGrpc.newBlockingStub(toLoading)
                    .withDeadlineAfter(5, TimeUnit.SECONDS);
            for (Runnable call : List.<Runnable>of(() -> stub.attend(AttendRequest.getDefaultInstance()),
                    () -> stub.release(ReleaseRequest.getDefaultInstance()), () -> stub.stats(StatsRequest.getDefaultInstance()))) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
                assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
                assertEquals("the attention instance is still loading its weights", e.getStatus().getDescription());
            }
        } finally {
            toLoading.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            loading.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** One chunk of {@code tokens} rows of small made-up hidden states. */
    private static AttendRequest request(int layer, long sequence, int start, int tokens) {
        float[][] rows = new float[tokens][HIDDEN];
        for (int t = 0; t < tokens; t++) {
            rows[t][t] = 1f;
            rows[t][HIDDEN - 1] = -0.5f;
        }
        return AttendRequest.newBuilder().setLayer(layer).setStepId(1).setHiddenSize(HIDDEN)
                .addChunks(Chunk.newBuilder().setSequenceId(sequence).setStart(start)
                        .addAllTokenIds(IntStream.range(0, tokens).map(t -> 100 + t).boxed().toList()))
                .setHiddenStates(FloatRows.encode(rows, tokens, HIDDEN))
                .build();
    }

    private static AttentionServiceGrpc.AttentionServiceBlockingStub stub() {
        return AttentionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
    }

    private static StatsResponse stats() {
        return stub().stats(StatsRequest.getDefaultInstance());
    }

    private static void assertRefused(Status.Code code, String message, AttendRequest request) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub().attend(request));
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
