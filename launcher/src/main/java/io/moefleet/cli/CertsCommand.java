package io.moefleet.cli;

import io.moefleet.rpc.CertificateAuthority;
import io.moefleet.rpc.TlsFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code certs}: a new CA and a certificate + key per service role, in the layout {@code --tls-dir} reads
 * ({@link TlsFiles}): {@code ca.crt}, {@code ROLE.crt}, {@code ROLE.key}. Each certificate names localhost, 127.0.0.1 and
 * ::1 (a fleet on this machine) and the Kubernetes names the base manifests give the role's pods in each fleet F
 * ({@code --fleet}, several separated by commas) and namespace NS (the shards and attention instances by their headless
 * Services: {@code *.F-expert}, {@code *.F-expert.NS.svc}, ...). The CA's key is not written: a new set is made by running again. Prints the files
 * written.
 */
final class CertsCommand implements Command {

    @Override
    public String usage() {
        return "certs --out DIR [--services " + String.join(",", TlsFiles.ROLES) + "] [--fleet NAME[,NAME...]] [--namespace NS] "
                + "[--days N]";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws IOException {
        Path dir = Path.of(args.required("out"));
        List<String> roles = Arrays.stream(args.optional("services", String.join(",", TlsFiles.ROLES)).split(","))
                .map(String::strip).filter(role -> !role.isEmpty()).distinct().toList();
        List<String> fleets = Arrays.stream(args.optional("fleet", "moefleet").split(",")).map(String::strip)
                .filter(name -> !name.isEmpty()).distinct().toList();
        String namespace = args.optional("namespace", "moefleet");
        Duration validity = Duration.ofDays(args.intValue("days", "365", 1));
        args.rejectUnknown();
        for (String role : roles) {
            if (!TlsFiles.ROLES.contains(role)) {
                throw new UsageException("certs: unknown service '" + role + "' (one of " + String.join(", ", TlsFiles.ROLES) + ")");
            }
        }
        if (fleets.isEmpty()) {
            throw new UsageException("certs: --fleet names no fleet");
        }
        if (roles.isEmpty()) {
            throw new UsageException("certs: --services names no service");
        }
        if (Files.exists(dir.resolve(TlsFiles.CA_FILE))) {
            throw new IllegalArgumentException(dir.resolve(TlsFiles.CA_FILE) + " exists: " + dir
                    + " holds a set already (remove it, or choose another folder)");
        }
        Files.createDirectories(dir);
        CertificateAuthority ca = CertificateAuthority.create("moefleet CA " + namespace, validity);
        ca.writeCertificate(dir.resolve(TlsFiles.CA_FILE));
        out.println(dir.resolve(TlsFiles.CA_FILE));
        for (String role : roles) {
            Path certificate = dir.resolve(TlsFiles.certificateFile(role));
            Path key = dir.resolve(TlsFiles.keyFile(role));
            ca.issue(role, dnsNames(role, fleets, namespace), List.of("127.0.0.1", "::1"), validity).write(certificate, key);
            out.println(certificate);
            out.println(key);
        }
        err.println("certs: a CA and " + roles.size() + " service certificate(s), valid " + validity.toDays() + " days, in " + dir);
        err.println("  local fleet:  ./fleet serve --model DIR --port 8000 --expert-shards 2 --tls-dir " + dir);
        for (String fleet : fleets) {
            err.println("  Kubernetes:   kubectl -n " + namespace + " create secret generic " + fleet + "-tls --from-file=" + dir);
        }
        return 0;
    }

    /**
     * The DNS names of {@code role}'s pods in the base manifests, in each of {@code fleets}: a shard or instance by its
     * StatefulSet's headless Service.
     */
    static List<String> dnsNames(String role, List<String> fleets, String namespace) {
        List<String> names = new ArrayList<>(List.of("localhost"));
        for (String fleet : fleets) {
            String service = fleet + "-" + role;
            for (String suffix : List.of("", "." + namespace + ".svc", "." + namespace + ".svc.cluster.local")) {
                names.add(service + suffix);
                if (role.equals("expert") || role.equals("attention")) {
                    names.add("*." + service + suffix);   // pod N: F-expert-N.F-expert[.NS.svc...]
                }
            }
        }
        return names;
    }
}
