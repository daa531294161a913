package io.moefleet.controller;

import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.ClientBuilder;
import java.net.InetAddress;
import java.util.HashMap;
import io.fabric8.mockwebserver.MockWebServer;

/**
 * A stateful fake API server: fabric8's mock in CRUD mode, on a loopback port, keeping what is created, patched
 * (JSON merge and JSON patches) and deleted, as an API server would. It serves no watches (so informers cannot run on
 * it: tests fill the caches from its lists) and no {@code /scale} (the controller patches {@code spec.replicas}).
 */
final class FakeApiServer implements AutoCloseable {

    private final KubernetesMockServer server;
    final ApiClient client;

    FakeApiServer() throws Exception {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        client = new ClientBuilder().setBasePath(server.url("/").replaceAll("/$", "")).build();
    }

    @Override
    public void close() {
        server.destroy();
    }
}
