package io.moefleet.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The controller's reads from a router that asks for an API key, as one started with {@code --api-keys} does. */
class RouterHttpTest {

    @TempDir
    Path dir;

    @Test
    void sendsItsKeyAsABearerTokenAndFailsWithoutIt() throws IOException {
        HttpServer router = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
        router.createContext("/metrics", exchange -> {
            boolean allowed = "Bearer sk-controller".equals(exchange.getRequestHeaders().getFirst("Authorization"));
            byte[] body = (allowed ? "moefleet_scheduler_waiting 0\n" : "{\"error\": \"no key\"}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(allowed ? 200 : 401, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        router.start();
        try {
            URI metrics = URI.create("http://127.0.0.1:" + router.getAddress().getPort() + "/metrics");
            assertEquals("moefleet_scheduler_waiting 0\n", RouterHttp.get(metrics, "sk-controller"));
            IOException refused = assertThrows(IOException.class, () -> RouterHttp.get(metrics, null));
            assertTrue(refused.getMessage().contains("answered 401"), refused.getMessage());
        } finally {
            router.stop(0);
        }
    }

    @Test
    void aKeyFileHoldsOneKeyOnOneLine() throws IOException {
        Path good = Files.writeString(dir.resolve("controller"), "sk-controller\n");
        assertEquals("sk-controller", RouterHttp.readKey(good));
        Path two = Files.writeString(dir.resolve("two"), "sk-a\nsk-b\n");
        IllegalArgumentException twoKeys = assertThrows(IllegalArgumentException.class, () -> RouterHttp.readKey(two));
        assertTrue(twoKeys.getMessage().startsWith(two.toString()), twoKeys.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> RouterHttp.readKey(dir.resolve("nowhere")));
        assertTrue(missing.getMessage().contains(dir.resolve("nowhere").toString()), missing.getMessage());
    }
}
