package io.moefleet.rpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Gives every call on a channel a deadline unless its caller set one, so that no call to another service can wait forever. */
public final class CallDeadlines implements ClientInterceptor {

    private final long timeoutNanos;

    public CallDeadlines(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("a call deadline must be positive, got " + timeout);
        }
        this.timeoutNanos = timeout.toNanos();
    }

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(MethodDescriptor<ReqT, RespT> method, CallOptions options,
            Channel next) {
        return next.newCall(method, options.getDeadline() != null ? options
                : options.withDeadlineAfter(timeoutNanos, TimeUnit.NANOSECONDS));
    }
}
