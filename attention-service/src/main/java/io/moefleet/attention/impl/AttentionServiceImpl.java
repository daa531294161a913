package io.moefleet.attention.impl;

import com.google.protobuf.ByteString;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.moefleet.proto.attention.AttendRequest;
import io.moefleet.proto.attention.AttendResponse;
import io.moefleet.proto.attention.AttentionServiceGrpc;
import io.moefleet.proto.attention.AdmitRequest;
import io.moefleet.proto.attention.AdmitResponse;
import io.moefleet.proto.attention.HotPrefixRequest;
import io.moefleet.proto.attention.HotPrefixResponse;
import io.moefleet.proto.attention.ReleaseRequest;
import io.moefleet.proto.attention.ReleaseResponse;
import io.moefleet.proto.attention.StatsRequest;
import io.moefleet.proto.attention.StatsResponse;
import io.moefleet.rpc.FloatRows;
import io.moefleet.rpc.LoadingStandIn;
import io.opentelemetry.api.trace.Span;

/**
 * The AttentionService of one instance: Attend runs a layer's attention for its chunks; Admit starts a sequence,
 * restoring its cached prefix; HotPrefix answers a routing probe; Release frees sequences; Stats reports.
 */
public final class AttentionServiceImpl extends AttentionServiceGrpc.AttentionServiceImplBase {

    private final InstanceAttention attention;

    public AttentionServiceImpl(InstanceAttention attention) {
        this.attention = attention;
    }

    @Override
    public void attend(AttendRequest request, StreamObserver<AttendResponse> response) {
        Span.current()
                .setAttribute("moefleet.attention.layer", request.getLayer())
                .setAttribute("moefleet.attention.step", request.getStepId())
                .setAttribute("moefleet.attention.chunks", request.getChunksCount());
        long start = System.nanoTime();
        float[][] out;
        try {
            AttendBatch batch = AttendBatch.decode(request, attention.config());
            if (((ServerCallStreamObserver<AttendResponse>) response).isCancelled()) {
                return;   // the router gave up (deadline passed, or it was interrupted): nobody would read the rows
            }
            out = attention.attend(batch);
        } catch (StatusException e) {
            response.onError(e);
            return;
        } catch (RuntimeException e) {
            // gRPC would answer UNKNOWN without a word; the router's error should say what broke
            response.onError(Status.INTERNAL.withDescription("attention instance: " + e).withCause(e).asException());
            return;
        }
        ByteString encoded = FloatRows.encode(out, out.length, attention.config().hiddenSize());
        response.onNext(AttendResponse.newBuilder()
                .setOutput(encoded)
                .setServerNanos(System.nanoTime() - start)
                .build());
        response.onCompleted();
    }

    @Override
    public void admit(AdmitRequest request, StreamObserver<AdmitResponse> response) {
        Span.current().setAttribute("moefleet.attention.prompt_tokens", request.getTokenIdsCount());
        AdmitResponse answer;
        try {
            checkPrompt(request.getTokenIdsCount());
            answer = attention.admit(request.getSequenceId(), AttendBatch.tokenIds(request.getTokenIdsList()));
        } catch (StatusException e) {
            response.onError(e);
            return;
        } catch (RuntimeException e) {
            response.onError(Status.INTERNAL.withDescription("attention instance: " + e).withCause(e).asException());
            return;
        }
        Span.current().setAttribute("moefleet.attention.cached_tokens", answer.getCachedTokens());
        response.onNext(answer);
        response.onCompleted();
    }

    @Override
    public void hotPrefix(HotPrefixRequest request, StreamObserver<HotPrefixResponse> response) {
        int pages;
        try {
            checkPrompt(request.getTokenIdsCount());
            pages = attention.hotPrefix(AttendBatch.tokenIds(request.getTokenIdsList()));
        } catch (StatusException e) {
            response.onError(e);
            return;
        }
        response.onNext(HotPrefixResponse.newBuilder().setPages(pages).setPageTokens(attention.pageTokens()).build());
        response.onCompleted();
    }

    @Override
    public void release(ReleaseRequest request, StreamObserver<ReleaseResponse> response) {
        int released = attention.release(request.getSequenceIdsList());
        response.onNext(ReleaseResponse.newBuilder().setReleased(released).build());
        response.onCompleted();
    }

    @Override
    public void stats(StatsRequest request, StreamObserver<StatsResponse> response) {
        response.onNext(attention.stats());
        response.onCompleted();
    }

    private void checkPrompt(int tokens) throws StatusException {
        if (tokens == 0) {
            throw Status.INVALID_ARGUMENT.withDescription("the prompt has no tokens").asException();
        }
        int context = attention.config().maxPositionEmbeddings();
        if (tokens > context) {
            throw Status.INVALID_ARGUMENT.withDescription("a prompt of " + tokens + " tokens is past the context of "
                    + context + " tokens").asException();
        }
    }

    /** Stands in for the service while the attention weights load: every method answers UNAVAILABLE. */
    public static ServerServiceDefinition whileLoading() {
        return LoadingStandIn.of(AttentionServiceGrpc.getServiceDescriptor(), "the attention instance is still loading its weights");
    }
}
