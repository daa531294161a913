package io.moefleet.controller;

import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.ClientBuilder;
import java.io.IOException;
import java.net.InetAddress;
import okhttp3.Interceptor;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.Buffer;
import java.util.HashMap;
import io.fabric8.mockwebserver.MockWebServer;

/**
 * A stateful fake API server: fabric8's mock in CRUD mode, on a loopback port, keeping what is created, patched
 * (JSON merge and JSON patches) and deleted, as an API server would. It serves no watches (so informers cannot run on
 * it: tests fill the caches from its lists) and no {@code /scale} (the controller patches {@code spec.replicas}).
 */
public final class FakeApiServer implements AutoCloseable {

    private final KubernetesMockServer server;
    public final ApiClient client;

    public FakeApiServer() throws Exception {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        client = new ClientBuilder().setBasePath(server.url("/").replaceAll("/$", "")).build();
        client.setHttpClient(client.getHttpClient().newBuilder().addInterceptor(FakeApiServer::leaseKind).build());
    }

    /**
     * A real API server takes a written object's kind from the path; the fake wants it in the body, and client-java's
     * LeaseLock writes Leases without it: add it to Lease writes.
     */
    private static Response leaseKind(Interceptor.Chain chain) throws IOException {
        Request request = chain.request();
        if (request.body() == null || !request.url().encodedPath().contains("/apis/coordination.k8s.io/v1/")
                || !(request.method().equals("POST") || request.method().equals("PUT"))) {
            return chain.proceed(request);
        }
        Buffer buffer = new Buffer();
        request.body().writeTo(buffer);
        String json = buffer.readUtf8();
        if (!json.contains("\"kind\"")) {
            json = "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\"," + json.substring(json.indexOf('{') + 1);
        }
        return chain.proceed(request.newBuilder()
                .method(request.method(), RequestBody.create(json, MediaType.get("application/json"))).build());
    }

    @Override
    public void close() {
        server.destroy();
    }
}
