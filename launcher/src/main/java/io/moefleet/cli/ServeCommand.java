package io.moefleet.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.moefleet.cli.fleet.FleetLayout;
import io.moefleet.cli.fleet.FleetProcesses;
import io.moefleet.cli.fleet.FleetStartException;
import io.moefleet.router.FleetEndpoints;
import io.moefleet.router.FleetRouter;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;

/**
 * {@code serve}: the whole fleet on this machine, each service its own JVM, this process the router, until Ctrl-C.
 * {@code GET /health} on port P answers 503 while the fleet starts and 200 once a token has gone through every
 * service. The OpenAI-compatible API comes with the API issue; other paths answer 404 until then.
 */
final class ServeCommand implements Command {

    @Override
    public String usage() {
        return "serve --model DIR --port P [--host H] [--threads T] " + FleetOptions.USAGE;
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path model = Path.of(args.required("model"));
        int port = args.intValue("port", args.required("port"), 1);
        String host = args.optional("host", "127.0.0.1");
        int threads = args.intValue("threads", "1", 1);
        FleetLayout layout = FleetOptions.layout("serve", args, model);
        args.rejectUnknown();

        HealthEndpoint health = HealthEndpoint.start(host, port);
        CountDownLatch stopped = new CountDownLatch(1);
        FleetProcesses fleet;
        FleetRouter router;
        try {
            fleet = FleetProcesses.start(layout, FleetOptions.logsRoot(), err);
        } catch (FleetStartException e) {
            health.stop();
            err.println("fleet serve: " + e.getMessage());
            return 1;
        }
        try {
            router = FleetRouter.open(
                    new FleetEndpoints(fleet.attentionAddresses(), fleet.placement(), fleet.expertAddresses()), model, threads, new ConsoleProgress(err, "loading " + model.getFileName()));
            router.greedy(new int[] {0}, 1);                 // one token through every service before saying "serving"
        } catch (RuntimeException e) {
            fleet.close();
            health.stop();
            throw e;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            health.stop();
            router.close();
            fleet.close();
            stopped.countDown();
        }, "fleet-serve-stop"));
        health.serving();
        err.printf("serving %s on http://%s:%d (GET /health); Ctrl-C stops the fleet%n", model.getFileName(), host, port);
        stopped.await();
        return 0;
    }

    /** The health endpoint, bound before the fleet starts so that a client can watch it come up. */
    private static final class HealthEndpoint {
        private final HttpServer server;
        private volatile boolean serving;

        private HealthEndpoint(HttpServer server) {
            this.server = server;
        }

        static HealthEndpoint start(String host, int port) throws IOException {
            HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 16);
            HealthEndpoint endpoint = new HealthEndpoint(server);
            server.createContext("/", endpoint::handle);
            server.setExecutor(Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon().name("fleet-health").unstarted(r)));
            server.start();
            return endpoint;
        }

        void serving() {
            serving = true;
        }

        void stop() {
            server.stop(0);
        }

        private void handle(HttpExchange exchange) throws IOException {
            try (exchange) {
                boolean health = exchange.getRequestURI().getPath().equals("/health");
                int status = !health ? 404 : serving ? 200 : 503;
                String body = !health ? "{\"error\": {\"message\": \"not found: " + exchange.getRequestURI().getPath() + "\"}}"
                        : serving ? "{\"status\": \"serving\"}" : "{\"status\": \"starting\"}";
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.sendResponseHeaders(status, bytes.length);
                exchange.getResponseBody().write(bytes);
            }
        }
    }
}
