package io.moefleet.cli.k8s;

import io.grpc.ChannelCredentials;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1SecretList;
import io.kubernetes.client.util.generic.GenericKubernetesApi;
import io.moefleet.rpc.CertificateAuthority;
import io.moefleet.rpc.TlsFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The two Secrets a fleet's pods mount, made as k8s/README.md makes them: {@code <fleet>-tls} (a CA and a certificate
 * per role, here for the loopback addresses the {@link ProcessKubelet} gives the pods' names) and
 * {@code <fleet>-api-keys} (the router's keys file, and the controller's key, one of them).
 */
record FleetSecrets(Path certificates, String apiKey) {

    /** Makes the certificates in {@code folder} and creates both Secrets of {@code fleet} in {@code namespace}. */
    static FleetSecrets create(ApiClient client, String namespace, String fleet, Path folder) throws Exception {
        Path certificates = Files.createDirectories(folder);
        CertificateAuthority ca = CertificateAuthority.create("test CA", Duration.ofDays(1));
        ca.writeCertificate(certificates.resolve(TlsFiles.CA_FILE));
        Map<String, byte[]> tls = new TreeMap<>();
        tls.put(TlsFiles.CA_FILE, Files.readAllBytes(certificates.resolve(TlsFiles.CA_FILE)));
        for (String role : TlsFiles.ROLES) {
            Path certificate = certificates.resolve(TlsFiles.certificateFile(role));
            Path key = certificates.resolve(TlsFiles.keyFile(role));
            ca.issue(role, List.of("localhost"), List.of("127.0.0.1"), Duration.ofDays(1)).write(certificate, key);
            tls.put(certificate.getFileName().toString(), Files.readAllBytes(certificate));
            tls.put(key.getFileName().toString(), Files.readAllBytes(key));
        }
        String apiKey = "sk-local-cluster-test";
        GenericKubernetesApi<V1Secret, V1SecretList> secrets = new GenericKubernetesApi<>(V1Secret.class, V1SecretList.class, "", "v1",
                "secrets", client);
        secrets.create(secret(namespace, fleet + "-tls", tls)).throwsApiException();
        secrets.create(secret(namespace, fleet + "-api-keys", Map.of("keys", (apiKey + "\n").getBytes(StandardCharsets.UTF_8),
                "controller", apiKey.getBytes(StandardCharsets.UTF_8)))).throwsApiException();
        return new FleetSecrets(certificates, apiKey);
    }

    /** How the controller calls the shards: mutual TLS with its certificate. */
    ChannelCredentials controllerCredentials() throws IOException {
        return TlsFiles.load(certificates, "controller").channelCredentials();
    }

    private static V1Secret secret(String namespace, String name, Map<String, byte[]> data) {
        return new V1Secret().apiVersion("v1").kind("Secret").metadata(new V1ObjectMeta().name(name).namespace(namespace))
                .type("Opaque").data(data);
    }
}
