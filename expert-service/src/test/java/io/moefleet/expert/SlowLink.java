package io.moefleet.expert;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay on loopback in front of a service, whose answers can be held back: a slow network or a service that
 * stalls without failing, which no health check sees. Bytes from the service to the client wait {@link #delay} before
 * they go on.
 */
final class SlowLink implements AutoCloseable {

    private final ServerSocket listener;
    private final String upstreamHost;
    private final int upstreamPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile long delayMillis;

    SlowLink(String upstream) throws IOException {
        this.upstreamHost = upstream.substring(0, upstream.lastIndexOf(':'));
        this.upstreamPort = Integer.parseInt(upstream.substring(upstream.lastIndexOf(':') + 1));
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("slow-link-accept").start(this::accept);
    }

    /** Where clients connect: "127.0.0.1:port". */
    String address() {
        return "127.0.0.1:" + listener.getLocalPort();
    }

    /** Holds every answer back {@code millis} from now on (0: none). */
    void delay(long millis) {
        delayMillis = millis;
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket service = new Socket(upstreamHost, upstreamPort);
                client.setTcpNoDelay(true);
                service.setTcpNoDelay(true);
                sockets.add(client);
                sockets.add(service);
                Thread.ofPlatform().daemon().start(() -> pump(client, service, false));
                Thread.ofPlatform().daemon().start(() -> pump(service, client, true));
            } catch (IOException e) {
                return;   // closed
            }
        }
    }

    private void pump(Socket from, Socket to, boolean answers) {
        byte[] buffer = new byte[64 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                long wait = answers ? delayMillis : 0;
                if (wait > 0) {
                    Thread.sleep(wait);
                }
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // either side closed: the relay of this connection ends
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // closing
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        sockets.forEach(SlowLink::closeQuietly);
    }
}
