package io.moefleet.rpc;

/**
 * How a service's gRPC server takes connections: plaintext, or mutual TLS with {@code tls}; and, when
 * {@code healthPort} is given, a second, plaintext listener on that port that answers only the standard health service.
 * The kubelet's gRPC probes speak no TLS: with TLS on, that port is what they ask (nothing else is served there, and the
 * NetworkPolicies admit no pod to it).
 */
public record ServerTransport(TlsFiles tls, Integer healthPort) {

    public static final ServerTransport PLAINTEXT = new ServerTransport(null, null);
    /** The option of the plaintext health listener. */
    public static final String HEALTH_PORT_OPTION = "--health-port";

    public ServerTransport {
        if (healthPort != null && (healthPort < 0 || healthPort > 65535)) {
            throw new IllegalArgumentException(HEALTH_PORT_OPTION + " " + healthPort + " is outside [0, 65535] (0: any free port)");
        }
    }
}
