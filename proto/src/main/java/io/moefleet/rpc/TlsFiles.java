package io.moefleet.rpc;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.TlsChannelCredentials;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The files of one fleet process's mutual TLS, in a folder ({@code --tls-dir DIR}) laid out as {@code ./fleet certs}
 * writes it: {@code ca.crt}, the CA every peer's certificate must be signed by, and {@code ROLE.crt} + {@code ROLE.key}
 * (PEM; the key PKCS#8), this process's certificate and key, ROLE being {@code expert}, {@code attention},
 * {@code router} or {@code controller}. Servers made from them require a client certificate signed by the CA and trust
 * nothing else; clients present their certificate and accept a server only with a certificate signed by the CA that
 * names the host they dialled. {@link #load} checks the files up front, so that a missing or mismatched file is an error
 * naming it rather than a failed handshake later; a certificate refused during a handshake is logged, naming the peer.
 */
public record TlsFiles(Path ca, Path certificate, Path key, X509Certificate caCertificate) {

    /** The option every gRPC service and client of the fleet takes. */
    public static final String OPTION = "--tls-dir";
    public static final String CA_FILE = "ca.crt";
    /** The roles of the fleet's processes that speak gRPC, each with its own certificate. */
    public static final List<String> ROLES = List.of("router", "expert", "attention", "controller");

    private static final System.Logger LOG = System.getLogger(TlsFiles.class.getName());

    /** The certificate file of {@code role}: {@code ROLE.crt}. */
    public static String certificateFile(String role) {
        return role + ".crt";
    }

    /** The private key file of {@code role}: {@code ROLE.key}. */
    public static String keyFile(String role) {
        return role + ".key";
    }

    /**
     * The files of {@code role} in {@code dir}, checked: all three present, the certificates X.509 PEM, the key PKCS#8
     * PEM and the one of the certificate, the certificate signed by the CA and within its validity.
     *
     * @throws IllegalArgumentException naming the file at fault and what is wrong with it
     */
    public static TlsFiles load(Path dir, String role) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(OPTION + " " + dir + " is not a folder (make one with ./fleet certs --out "
                    + dir + ")");
        }
        Path ca = existing(dir.resolve(CA_FILE));
        Path certificate = existing(dir.resolve(certificateFile(role)));
        Path key = existing(dir.resolve(keyFile(role)));
        X509Certificate caCertificate = readCertificate(ca);
        X509Certificate own = readCertificate(certificate);
        PrivateKey privateKey = readKey(key, own.getPublicKey().getAlgorithm());
        checkPair(own, privateKey, certificate, key);
        try {
            own.checkValidity();
        } catch (CertificateException e) {
            throw new IllegalArgumentException(certificate + " is not valid now (valid " + own.getNotBefore() + " to "
                    + own.getNotAfter() + ")");
        }
        try {
            own.verify(caCertificate.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(certificate + " (" + own.getSubjectX500Principal() + ") is not signed by the CA in "
                    + ca + " (" + caCertificate.getSubjectX500Principal() + ")");
        }
        return new TlsFiles(ca, certificate, key, caCertificate);
    }

    /** {@link #load} when {@code dir} is given, else null (plaintext). */
    public static TlsFiles loadIfGiven(String dir, String role) {
        return dir == null ? null : load(Path.of(dir), role);
    }

    /** A client's credentials: with {@code tls}, mutual TLS; with null, plaintext. */
    public static ChannelCredentials channelCredentials(TlsFiles tls) {
        return tls == null ? InsecureChannelCredentials.create() : tls.channelCredentials();
    }

    /** A client's credentials: mutual TLS as {@code role} with the files in {@code dir} ({@link #load}); plaintext when null. */
    public static ChannelCredentials channelCredentials(Path dir, String role) {
        return channelCredentials(dir == null ? null : load(dir, role));
    }

    /** Presents this certificate and accepts servers whose certificate is signed by the CA and names the host dialled. */
    public ChannelCredentials channelCredentials() {
        try {
            return TlsChannelCredentials.newBuilder()
                    .keyManager(certificate.toFile(), key.toFile())
                    .trustManager(trustManager(false))
                    .build();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + certificate + " or " + key + ": " + e.getMessage(), e);
        }
    }

    /** The JDK's PKIX checks against the CA alone, with every refusal logged (as a server's of its clients, or a client's). */
    X509ExtendedTrustManager trustManager(boolean server) {
        try {
            KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
            anchors.load(null, null);
            anchors.setCertificateEntry("moefleet-ca", caCertificate);
            TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
            factory.init(anchors);
            for (TrustManager manager : factory.getTrustManagers()) {
                if (manager instanceof X509ExtendedTrustManager pkix) {
                    return new RefusalLog(pkix, server, ca);
                }
            }
            throw new IllegalStateException("the JDK's PKIX trust manager factory made no X509ExtendedTrustManager");
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("cannot trust the CA in " + ca + ": " + e.getMessage(), e);
        }
    }

    /**
     * Logs every certificate the CA check refuses, naming the peer (its address where the TLS engine knows it, and the
     * certificate's subject and issuer) and why, then refuses it: a handshake that fails shows in the log of the side
     * that refused, not only as an UNAVAILABLE on the other.
     */
    private static final class RefusalLog extends X509ExtendedTrustManager {

        private final X509ExtendedTrustManager pkix;
        private final boolean server;
        private final Path ca;

        RefusalLog(X509ExtendedTrustManager pkix, boolean server, Path ca) {
            this.pkix = pkix;
            this.server = server;
            this.ca = ca;
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            check(chain, peer(engine), () -> pkix.checkClientTrusted(chain, authType, engine));
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            check(chain, peer(engine), () -> pkix.checkServerTrusted(chain, authType, engine));
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            check(chain, String.valueOf(socket.getRemoteSocketAddress()), () -> pkix.checkClientTrusted(chain, authType, socket));
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            check(chain, String.valueOf(socket.getRemoteSocketAddress()), () -> pkix.checkServerTrusted(chain, authType, socket));
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain, "a client", () -> pkix.checkClientTrusted(chain, authType));
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain, "a server", () -> pkix.checkServerTrusted(chain, authType));
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return pkix.getAcceptedIssuers();
        }

        private interface Check {
            void run() throws CertificateException;
        }

        private void check(X509Certificate[] chain, String peer, Check check) throws CertificateException {
            try {
                check.run();
            } catch (CertificateException e) {
                String presented = chain == null || chain.length == 0 ? "no certificate"
                        : "certificate " + chain[0].getSubjectX500Principal() + " issued by " + chain[0].getIssuerX500Principal();
                LOG.log(System.Logger.Level.WARNING, "TLS handshake refused: " + (server ? "client " : "server ") + peer
                        + " presented " + presented + ", not accepted against the CA in " + ca + ": " + e.getMessage());
                throw e;
            }
        }

        private static String peer(SSLEngine engine) {
            if (engine == null || engine.getPeerHost() == null) {
                return "(address unknown to the TLS engine)";
            }
            return engine.getPeerHost() + (engine.getPeerPort() > 0 ? ":" + engine.getPeerPort() : "");
        }
    }

    private static Path existing(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("missing " + file + " (a TLS folder holds " + CA_FILE
                    + ", ROLE.crt and ROLE.key; ./fleet certs makes one)");
        }
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException("cannot read " + file + " (permissions)");
        }
        return file;
    }

    private static X509Certificate readCertificate(Path file) {
        try {
            Collection<? extends java.security.cert.Certificate> all = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(file)));
            if (all.isEmpty() || !(all.iterator().next() instanceof X509Certificate first)) {
                throw new IllegalArgumentException(file + " holds no X.509 certificate");
            }
            return first;
        } catch (CertificateException e) {
            throw new IllegalArgumentException(file + " is not a PEM X.509 certificate: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static PrivateKey readKey(Path file, String algorithm) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        }
        String begin = "-----BEGIN PRIVATE KEY-----";
        String end = "-----END PRIVATE KEY-----";
        int from = text.indexOf(begin);
        int to = text.indexOf(end);
        if (from < 0 || to < from) {
            String hint = text.contains("-----BEGIN EC PRIVATE KEY-----") || text.contains("-----BEGIN RSA PRIVATE KEY-----")
                    ? " (it is a traditional EC/RSA key: convert it with openssl pkcs8 -topk8 -nocrypt)"
                    : text.contains("ENCRYPTED PRIVATE KEY") ? " (it is encrypted: the services read unencrypted keys)" : "";
            throw new IllegalArgumentException(file + " is not an unencrypted PKCS#8 PEM private key" + hint);
        }
        try {
            byte[] der = Base64.getMimeDecoder().decode(text.substring(from + begin.length(), to));
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw new IllegalArgumentException(file + " is not a readable " + algorithm + " private key: " + e.getMessage(), e);
        }
    }

    /** Signs with the key and verifies with the certificate: they belong together only if that holds. */
    private static void checkPair(X509Certificate certificate, PrivateKey key, Path certificateFile, Path keyFile) {
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> throw new IllegalArgumentException(keyFile + " holds a " + key.getAlgorithm()
                    + " key; the services take EC, RSA or Ed25519 keys");
        };
        try {
            byte[] probe = new byte[32];
            new SecureRandom().nextBytes(probe);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(probe);
            if (!verifier.verify(signature)) {
                throw new IllegalArgumentException(keyFile + " is not the key of " + certificateFile + " ("
                        + certificate.getSubjectX500Principal() + ")");
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(keyFile + " is not the key of " + certificateFile + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "TLS with " + certificate + " and the CA in " + ca;
    }
}
