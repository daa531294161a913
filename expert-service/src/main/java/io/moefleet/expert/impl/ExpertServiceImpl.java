package io.moefleet.expert.impl;

import com.google.protobuf.ByteString;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.moefleet.proto.expert.ExpertServiceGrpc;
import io.moefleet.proto.expert.ForwardRequest;
import io.moefleet.proto.expert.ForwardResponse;
import io.moefleet.proto.expert.StatsRequest;
import io.moefleet.proto.expert.StatsResponse;
import io.moefleet.rpc.LoadingStandIn;
import io.opentelemetry.api.trace.Span;

/** The ExpertService of one shard: Forward applies the shard's experts to the tokens routed to them; Stats reports counters. */
public final class ExpertServiceImpl extends ExpertServiceGrpc.ExpertServiceImplBase {

    private final int shard;
    private final ShardExperts experts;
    private final ServedCounters counters;

    public ExpertServiceImpl(int shard, ShardExperts experts) {
        this.shard = shard;
        this.experts = experts;
        this.counters = new ServedCounters(experts.config().numHiddenLayers(), experts.config().nRoutedExperts());
    }

    @Override
    public void forward(ForwardRequest request, StreamObserver<ForwardResponse> response) {
        Span.current()
                .setAttribute("moefleet.expert.shard", shard)
                .setAttribute("moefleet.expert.layer", request.getLayer())
                .setAttribute("moefleet.expert.step", request.getStepId())
                .setAttribute("moefleet.expert.tokens", request.getTokensCount());
        long start = System.nanoTime();
        ForwardBatch batch;
        try {
            batch = ForwardBatch.decode(request, shard, experts);
        } catch (StatusException e) {
            response.onError(e);
            return;
        }
        if (((ServerCallStreamObserver<ForwardResponse>) response).isCancelled()) {
            return;   // the router gave up (deadline passed, or it was interrupted): nobody would read the outputs
        }
        ByteString outputs;
        try {
            outputs = experts.apply(batch.layer(), batch.rows(), batch.experts());
        } catch (ExpertNotHeldException e) {
            // dropped between the check in decode and the call: a change of the held set came in between
            response.onError(ForwardBatch.notHeld(shard, e.layer(), e.expert()));
            return;
        } catch (RuntimeException e) {
            // gRPC would answer UNKNOWN without a word; the router's error should say what broke where
            response.onError(Status.INTERNAL.withDescription("expert shard " + shard + ": " + e).withCause(e).asException());
            return;
        }
        counters.record(batch.layer(), request.getTokensList());
        response.onNext(ForwardResponse.newBuilder()
                .setExpertOutputs(outputs)
                .setServerNanos(System.nanoTime() - start)
                .build());
        response.onCompleted();
    }

    @Override
    public void stats(StatsRequest request, StreamObserver<StatsResponse> response) {
        response.onNext(counters.snapshot(shard, experts.heldNow()));
        response.onCompleted();
    }

    /** Stands in for the service while the shard's experts load: every method answers UNAVAILABLE. */
    public static ServerServiceDefinition whileLoading(int shard) {
        return LoadingStandIn.of(ExpertServiceGrpc.getServiceDescriptor(), "expert shard " + shard + " is still loading its experts");
    }
}
