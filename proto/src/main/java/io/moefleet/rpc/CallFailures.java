package io.moefleet.rpc;

import io.grpc.Status;

/** How a client words a failed call to another service, after the service's name and address. */
public final class CallFailures {

    private CallFailures() {}

    /**
     * "is unavailable (...)", "did not answer in time: ..." or "failed: ...", with the status code, description and cause;
     * a failed TLS handshake says so first.
     */
    public static String describe(Status status) {
        String detail = status.getCode()
                + (status.getDescription() == null ? "" : ": " + status.getDescription())
                + (status.getCause() == null ? "" : " (" + status.getCause().getMessage() + ")");
        Throwable tls = status.getCause();
        while (tls != null && !(tls instanceof javax.net.ssl.SSLException)) {
            tls = tls.getCause();
        }
        if (tls != null) {
            return "refused the TLS handshake or was refused (mutual TLS: is it the fleet's CA, and this process's certificate?): "
                    + tls.getMessage() + " (" + detail + ")";
        }
        return switch (status.getCode()) {
            case UNAVAILABLE -> "is unavailable (not running, unreachable or still loading): " + detail;
            case DEADLINE_EXCEEDED -> "did not answer in time: " + detail;
            default -> "failed: " + detail;
        };
    }
}
