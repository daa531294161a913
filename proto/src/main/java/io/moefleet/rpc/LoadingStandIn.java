package io.moefleet.rpc;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;

/**
 * Stands in for a service while its server loads weights: the same methods (so reflection lists them), each answered
 * UNAVAILABLE with a description. The server swaps in the real service once loading is done. A service that cannot
 * load stays up with a {@linkplain #failed failed} stand-in instead, when asked to.
 */
public final class LoadingStandIn {

    private LoadingStandIn() {}

    /** Every method of {@code service} answers UNAVAILABLE with {@code description}. */
    public static ServerServiceDefinition of(ServiceDescriptor service, String description) {
        return answering(service, Status.UNAVAILABLE.withDescription(description));
    }

    /** Every method of {@code service} answers FAILED_PRECONDITION with {@code reason}: the service could not start. */
    public static ServerServiceDefinition failed(ServiceDescriptor service, String reason) {
        return answering(service, Status.FAILED_PRECONDITION.withDescription(reason));
    }

    private static ServerServiceDefinition answering(ServiceDescriptor service, Status status) {
        ServerCallHandler<Object, Object> unavailable = (call, headers) -> {
            call.close(status, new Metadata());
            return new ServerCall.Listener<>() {};
        };
        ServerServiceDefinition.Builder standIn = ServerServiceDefinition.builder(service);
        for (MethodDescriptor<?, ?> method : service.getMethods()) {
            standIn.addMethod(unchecked(method), unavailable);
        }
        return standIn.build();
    }

    @SuppressWarnings("unchecked")
    private static MethodDescriptor<Object, Object> unchecked(MethodDescriptor<?, ?> method) {
        return (MethodDescriptor<Object, Object>) method;   // the handler never reads or writes a message
    }
}
