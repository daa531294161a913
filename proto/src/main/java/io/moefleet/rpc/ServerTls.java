package io.moefleet.rpc;

import io.grpc.ServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.handler.codec.DecoderException;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.NotSslRecordException;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import java.net.SocketAddress;
import javax.net.ssl.SSLException;

/**
 * A gRPC server on Netty with mutual TLS ({@link TlsFiles}: client certificate required, the CA alone trusted) that logs
 * every failed handshake with the peer's address and the cause. gRPC's own TLS server credentials report a failed
 * handshake only at FINE and without the peer, so a plaintext client or one without a certificate would leave no trace:
 * this wraps the transport's TLS negotiation to watch each connection's handshake.
 */
final class ServerTls {

    private static final System.Logger LOG = System.getLogger(ServerTls.class.getName());

    private ServerTls() {}

    /** A server builder on {@code port} taking only mutual-TLS connections, its failed handshakes logged as {@code name}'s. */
    static ServerBuilder<?> forPort(int port, TlsFiles tls, String name) {
        SslContext context;
        try {
            context = GrpcSslContexts.forServer(tls.certificate().toFile(), tls.key().toFile())
                    .trustManager(tls.trustManager(true))
                    .clientAuth(ClientAuth.REQUIRE)
                    .build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot serve TLS with " + tls.certificate() + " and " + tls.key() + ": "
                    + e.getMessage(), e);
        }
        return NettyServerBuilder.forPort(port).protocolNegotiator(new Negotiator(InternalProtocolNegotiators.serverTls(context), name));
    }

    /** gRPC's server TLS negotiation, with a watch on each connection's handshake. */
    private record Negotiator(InternalProtocolNegotiator.ProtocolNegotiator tls, String name)
            implements InternalProtocolNegotiator.ProtocolNegotiator {

        @Override
        public AsciiString scheme() {
            return tls.scheme();
        }

        @Override
        public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
            ChannelHandler negotiation = tls.newHandler(grpcHandler);
            // gRPC's negotiation puts an SslHandler in the pipeline once the connection is active: this handler goes in
            // front of it, waits for that, watches the handshake and leaves
            return new ChannelInboundHandlerAdapter() {
                @Override
                public void handlerAdded(ChannelHandlerContext ctx) {
                    ctx.pipeline().addAfter(ctx.name(), null, negotiation);
                    if (ctx.channel().isActive()) {
                        watchHandshake(ctx);
                    }
                }

                @Override
                public void channelActive(ChannelHandlerContext ctx) {
                    ctx.fireChannelActive();
                    watchHandshake(ctx);
                }

                private void watchHandshake(ChannelHandlerContext ctx) {
                    SslHandler ssl = ctx.pipeline().get(SslHandler.class);
                    if (ssl == null) {
                        return;   // not yet: channelActive comes
                    }
                    SocketAddress peer = ctx.channel().remoteAddress();
                    ssl.handshakeFuture().addListener(handshake -> {
                        if (!handshake.isSuccess()) {
                            LOG.log(System.Logger.Level.WARNING, name + ": refused a connection from " + peer
                                    + ": TLS handshake failed: " + reason(handshake.cause()));
                        }
                    });
                    ctx.pipeline().remove(this);
                }
            };
        }

        @Override
        public void close() {
            tls.close();
        }
    }

    private static String reason(Throwable cause) {
        Throwable root = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (root instanceof NotSslRecordException) {
            return "the client spoke plaintext, not TLS";
        }
        String message = root.getMessage() != null ? root.getMessage() : root.toString();
        if (message.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") || message.contains("CERTIFICATE_REQUIRED")) {
            return "the client presented no certificate (or none the fleet's CA signed) (" + message + ")";
        }
        if (message.contains("_ALERT_")) {
            return "the client ended the handshake (" + message + "); it may not trust this server's certificate";
        }
        if (root instanceof java.nio.channels.ClosedChannelException) {
            return "the client closed the connection during the handshake";
        }
        return message;
    }
}
