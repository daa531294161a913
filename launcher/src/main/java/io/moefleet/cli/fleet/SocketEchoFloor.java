package io.moefleet.cli.fleet;

import io.moefleet.router.LayerCallRecorder;
import io.moefleet.router.LayerCallSummary;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

/**
 * The floor under a layer's dispatch without gRPC: a loopback TCP echo (an echo server on a thread of its own) of as
 * many bytes as the dispatch carries, sent and read back, timed per round trip. No protobuf, no HTTP/2, no thread
 * hand-off on the client: what the kernel and the JVM's sockets alone cost.
 */
final class SocketEchoFloor {

    private static final int CHUNK = 64 << 10;

    private SocketEchoFloor() {}

    static LayerCallSummary measure(int bytes, int warmUpRoundTrips, int roundTrips) {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread echo = Thread.ofPlatform().daemon().name("bench-socket-echo").start(() -> echo(server));
            try (SocketChannel client = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()));
                 Selector selector = Selector.open()) {
                client.setOption(StandardSocketOptions.TCP_NODELAY, true);
                client.configureBlocking(false);
                client.register(selector, 0);
                ByteBuffer out = ByteBuffer.allocateDirect(bytes);
                ByteBuffer in = ByteBuffer.allocateDirect(bytes);
                for (int i = 0; i < warmUpRoundTrips; i++) {
                    roundTrip(client, selector, out, in);
                }
                LayerCallRecorder recorder = new LayerCallRecorder();
                for (int i = 0; i < roundTrips; i++) {
                    long start = System.nanoTime();
                    roundTrip(client, selector, out, in);
                    recorder.record(System.nanoTime() - start, 0, bytes, bytes);
                }
                return recorder.summary();
            } finally {
                server.close();   // the echo thread ends when its connection does
                echo.join(5_000);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("socket echo", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while measuring the socket echo", e);
        }
    }

    /**
     * Writes {@code out} whole and reads as many bytes back, waiting in the selector for whichever the socket allows:
     * writing everything before reading could fill both sides' buffers and stall for payloads larger than they are.
     */
    private static void roundTrip(SocketChannel client, Selector selector, ByteBuffer out, ByteBuffer in) throws IOException {
        out.clear();
        in.clear();
        SelectionKey key = client.keyFor(selector);
        while (in.hasRemaining()) {
            if (out.hasRemaining()) {
                client.write(out);
            }
            if (client.read(in) < 0) {
                throw new IOException("the echo server closed the connection");
            }
            if (!in.hasRemaining()) {
                break;
            }
            key.interestOps(out.hasRemaining() ? SelectionKey.OP_READ | SelectionKey.OP_WRITE : SelectionKey.OP_READ);
            selector.select();
            selector.selectedKeys().clear();
        }
    }

    /** Echoes every byte of its one connection back as it arrives. */
    private static void echo(ServerSocket server) {
        try (Socket connection = server.accept()) {
            connection.setTcpNoDelay(true);
            InputStream in = connection.getInputStream();
            OutputStream out = connection.getOutputStream();
            byte[] buffer = new byte[CHUNK];
            for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                out.write(buffer, 0, n);
            }
        } catch (IOException e) {
            // the client is gone: the measurement is over
        }
    }
}
