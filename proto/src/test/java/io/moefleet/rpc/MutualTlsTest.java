package io.moefleet.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.moefleet.proto.expert.ExpertServiceGrpc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A service host with mutual TLS on, against clients with good, foreign, missing and no certificates, all made here by
 * {@link CertificateAuthority} (no key is checked in): only a client whose certificate the fleet's CA signed is served,
 * a client accepts only a server certificate the CA signed for the host it dialled, and refusals are logged.
 */
class MutualTlsTest {

    private static final Duration VALIDITY = Duration.ofDays(1);
    /** The parent logger of TlsFiles' and ServerTls' loggers. */
    private static final String RPC_LOGS = "io.moefleet.rpc";
    private static final List<String> LOCAL_DNS = List.of("localhost");
    private static final List<String> LOCAL_IPS = List.of("127.0.0.1");

    @TempDir
    Path folder;

    private final List<LogRecord> logged = new ArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            synchronized (logged) {
                logged.add(record);
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };
    private final List<ServiceHost> hosts = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();

    @BeforeEach
    void captureLogs() {
        Logger.getLogger(RPC_LOGS).addHandler(capture);
    }

    @AfterEach
    void stopAll() {
        Logger.getLogger(RPC_LOGS).removeHandler(capture);
        channels.forEach(ManagedChannel::shutdownNow);
        hosts.forEach(ServiceHost::stop);
    }

    /** A CA and, in {@code dir}, its certificate with the given roles' certificates and keys. */
    private static CertificateAuthority writeSet(Path dir, String caName, List<String> dns, List<String> ips, String... roles)
            throws IOException {
        Files.createDirectories(dir);
        CertificateAuthority ca = CertificateAuthority.create(caName, VALIDITY);
        ca.writeCertificate(dir.resolve(TlsFiles.CA_FILE));
        for (String role : roles) {
            ca.issue(role, dns, ips, VALIDITY).write(dir.resolve(TlsFiles.certificateFile(role)), dir.resolve(TlsFiles.keyFile(role)));
        }
        return ca;
    }

    private ServiceHost serve(ServerTransport transport) throws IOException {
        ServiceHost host = new ServiceHost("test service", 0, ExpertServiceGrpc.SERVICE_NAME, () -> { }, transport);
        hosts.add(host);
        // a failed stand-in: health SERVING for the server as a whole, every service call answered FAILED_PRECONDITION
        host.listenFailed(LoadingStandIn.failed(ExpertServiceGrpc.getServiceDescriptor(), "no weights in this test"));
        return host;
    }

    /** The server's overall health as a client with {@code credentials} dialling {@code host} gets it. */
    private ServingStatus health(String host, int port, ChannelCredentials credentials) {
        ManagedChannel channel = Grpc.newChannelBuilder(host + ":" + port, credentials).build();
        channels.add(channel);
        return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance()).getStatus();
    }

    private List<String> messages() {
        synchronized (logged) {
            return logged.stream().map(LogRecord::getMessage).toList();
        }
    }

    /** Whether a message logged within a few seconds has every one of {@code parts} (the server logs on its own thread). */
    private boolean loggedWithin(String... parts) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        do {
            if (messages().stream().anyMatch(m -> java.util.Arrays.stream(parts).allMatch(m::contains))) {
                return true;
            }
            Thread.sleep(20);
        } while (System.nanoTime() < end);
        return false;
    }

    @Test
    void servesAClientWithACertificateOfTheCaByNameAndByAddress() throws IOException {
        writeSet(folder, "fleet CA", LOCAL_DNS, LOCAL_IPS, "expert", "router");
        ServiceHost host = serve(new ServerTransport(TlsFiles.load(folder, "expert"), null));
        ChannelCredentials router = TlsFiles.load(folder, "router").channelCredentials();

        assertEquals(ServingStatus.SERVING, health("127.0.0.1", host.port(), router));
        assertEquals(ServingStatus.SERVING, health("localhost", host.port(), router));
    }

    @Test
    void refusesAPlaintextClientButAnswersHealthOnTheHealthPort() throws Exception {
        writeSet(folder, "fleet CA", LOCAL_DNS, LOCAL_IPS, "expert");
        ServiceHost host = serve(new ServerTransport(TlsFiles.load(folder, "expert"), 0));

        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                () -> health("127.0.0.1", host.port(), InsecureChannelCredentials.create()));
        assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode());
        assertTrue(loggedWithin("test service: refused a connection from /127.0.0.1:", "spoke plaintext"),
                "the server logs the plaintext peer: " + messages());
        // the kubelet's probe: health alone, plaintext, on its own port; no service method there
        assertEquals(ServingStatus.SERVING, health("127.0.0.1", host.healthPort(), InsecureChannelCredentials.create()));
        ManagedChannel probe = Grpc.newChannelBuilder("127.0.0.1:" + host.healthPort(), InsecureChannelCredentials.create()).build();
        channels.add(probe);
        StatusRuntimeException noService = assertThrows(StatusRuntimeException.class, () -> ExpertServiceGrpc.newBlockingStub(probe)
                .withDeadlineAfter(10, TimeUnit.SECONDS).stats(io.moefleet.proto.expert.StatsRequest.getDefaultInstance()));
        assertEquals(Status.Code.UNIMPLEMENTED, noService.getStatus().getCode());
    }

    @Test
    void refusesAClientWithoutACertificate() throws Exception {
        writeSet(folder, "fleet CA", LOCAL_DNS, LOCAL_IPS, "expert");
        ServiceHost host = serve(new ServerTransport(TlsFiles.load(folder, "expert"), null));
        ChannelCredentials anonymous = TlsChannelCredentials.newBuilder()
                .trustManager(folder.resolve(TlsFiles.CA_FILE).toFile()).build();

        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> health("127.0.0.1", host.port(), anonymous));
        assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode());
        assertTrue(loggedWithin("test service: refused a connection from /127.0.0.1:", "presented no certificate"),
                "the server logs the peer without a certificate: " + messages());
    }

    @Test
    void refusesAClientWhoseCertificateAnotherCaSignedAndLogsIt() throws Exception {
        writeSet(folder.resolve("fleet"), "fleet CA", LOCAL_DNS, LOCAL_IPS, "expert");
        // the intruder trusts the fleet's CA (so it would accept the server) but its own certificate is another CA's
        Path intruder = folder.resolve("intruder");
        writeSet(intruder, "intruder CA", LOCAL_DNS, LOCAL_IPS, "router");
        Files.copy(folder.resolve("fleet").resolve(TlsFiles.CA_FILE), intruder.resolve("fleet-ca.crt"));
        ServiceHost host = serve(new ServerTransport(TlsFiles.load(folder.resolve("fleet"), "expert"), null));
        ChannelCredentials foreign = TlsChannelCredentials.newBuilder()
                .keyManager(intruder.resolve("router.crt").toFile(), intruder.resolve("router.key").toFile())
                .trustManager(intruder.resolve("fleet-ca.crt").toFile()).build();

        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> health("127.0.0.1", host.port(), foreign));
        assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode());
        // its TLS stack offers no certificate the server's CA list does not name: to the server it comes without one
        assertTrue(loggedWithin("test service: refused a connection from /127.0.0.1:", "TLS handshake failed"),
                "the server logs the refused client: " + messages());
    }

    @Test
    void aClientRefusesAServerWhoseCertificateAnotherCaSignedAndLogsIt() throws IOException {
        writeSet(folder.resolve("fleet"), "fleet CA", LOCAL_DNS, LOCAL_IPS, "router");
        writeSet(folder.resolve("impostor"), "impostor CA", LOCAL_DNS, LOCAL_IPS, "expert");
        ServiceHost impostor = serve(new ServerTransport(TlsFiles.load(folder.resolve("impostor"), "expert"), null));
        ChannelCredentials router = TlsFiles.load(folder.resolve("fleet"), "router").channelCredentials();

        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                () -> health("127.0.0.1", impostor.port(), router));
        assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode());
        assertTrue(CallFailures.describe(refused.getStatus()).startsWith("refused the TLS handshake or was refused"),
                CallFailures.describe(refused.getStatus()));
        assertTrue(messages().stream().anyMatch(m -> m.contains("TLS handshake refused: server 127.0.0.1")
                        && m.contains("issued by CN=impostor CA")),
                "the client logs the refused server certificate: " + messages());
    }

    @Test
    void aClientRefusesAServerCertificateOfTheCaForAnotherHost() throws IOException {
        CertificateAuthority ca = writeSet(folder, "fleet CA", LOCAL_DNS, LOCAL_IPS, "router");
        Path elsewhere = folder.resolve("elsewhere");
        Files.createDirectories(elsewhere);
        Files.copy(folder.resolve(TlsFiles.CA_FILE), elsewhere.resolve(TlsFiles.CA_FILE));
        ca.issue("expert", List.of("expert-0.example"), List.of("10.0.0.7"), VALIDITY)
                .write(elsewhere.resolve("expert.crt"), elsewhere.resolve("expert.key"));
        ServiceHost host = serve(new ServerTransport(TlsFiles.load(elsewhere, "expert"), null));

        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                () -> health("127.0.0.1", host.port(), TlsFiles.load(folder, "router").channelCredentials()));
        assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode());
    }

    @Test
    void badFilesAreErrorsNamingTheFile() throws IOException {
        writeSet(folder.resolve("a"), "CA a", LOCAL_DNS, LOCAL_IPS, "expert", "router");
        writeSet(folder.resolve("b"), "CA b", LOCAL_DNS, LOCAL_IPS, "expert");
        Path a = folder.resolve("a");

        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> TlsFiles.load(a, "attention"));
        assertTrue(missing.getMessage().contains(a.resolve("attention.crt").toString()), missing.getMessage());

        IllegalArgumentException notAFolder = assertThrows(IllegalArgumentException.class,
                () -> TlsFiles.load(folder.resolve("nowhere"), "expert"));
        assertTrue(notAFolder.getMessage().contains("nowhere") && notAFolder.getMessage().contains("not a folder"), notAFolder.getMessage());

        Files.copy(a.resolve("router.key"), a.resolve("expert.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        IllegalArgumentException wrongKey = assertThrows(IllegalArgumentException.class, () -> TlsFiles.load(a, "expert"));
        assertTrue(wrongKey.getMessage().contains(a.resolve("expert.key") + " is not the key of " + a.resolve("expert.crt")),
                wrongKey.getMessage());

        Files.copy(folder.resolve("b").resolve("expert.crt"), a.resolve("expert.crt"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(folder.resolve("b").resolve("expert.key"), a.resolve("expert.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        IllegalArgumentException otherCa = assertThrows(IllegalArgumentException.class, () -> TlsFiles.load(a, "expert"));
        assertTrue(otherCa.getMessage().startsWith(a.resolve("expert.crt").toString())
                && otherCa.getMessage().contains("is not signed by the CA in " + a.resolve("ca.crt")), otherCa.getMessage());

        Files.writeString(a.resolve("router.crt"), "not a certificate\n");
        IllegalArgumentException garbage = assertThrows(IllegalArgumentException.class, () -> TlsFiles.load(a, "router"));
        assertTrue(garbage.getMessage().startsWith(a.resolve("router.crt").toString()), garbage.getMessage());
    }
}
