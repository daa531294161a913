package io.moefleet.cli.k8s;

import io.kubernetes.client.custom.IntOrString;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1ServicePort;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The cluster DNS of one namespace, on loopback: a pod's name under its StatefulSet's governing Service
 * ({@code <pod>.<service>}) is that pod's address, a Service's name is the addresses of the pods it selects, each with
 * the loopback port the {@link ProcessKubelet} gave the container port behind the asked port. Every name may carry the
 * namespace's suffixes ({@code .<ns>}, {@code .<ns>.svc}, {@code .<ns>.svc.cluster.local}). Names are only resolved
 * with a port ({@code host:port}), the form addresses take in arguments and in the fleet's configuration; a name that
 * resolves to nothing is left as written (as NXDOMAIN would leave the client failing).
 *
 * <p>Services resolve to every pod they select, ready or not (as {@code publishNotReadyAddresses}): the processes get
 * their addresses once, when they start, where a real resolver would be asked again.
 */
final class LoopbackDns {

    static final String LOOPBACK = "127.0.0.1";

    private final String namespace;
    /** name without suffix -> (asked port -> loopback addresses, or null when the name has no such port) */
    private final Map<String, IntFunction<List<String>>> names = new LinkedHashMap<>();
    /** service name -> the port its DNS records carry for discovery (its first port) */
    private final Map<String, Integer> firstPorts = new LinkedHashMap<>();
    private final Pattern pattern;

    /**
     * @param pods     the namespace's pods (running or about to be)
     * @param services the namespace's Services
     */
    LoopbackDns(String namespace, List<PodProcess> pods, List<V1Service> services) {
        this.namespace = namespace;
        for (V1Service service : services) {
            String name = service.getMetadata().getName();
            List<V1ServicePort> ports = service.getSpec().getPorts() == null ? List.of() : service.getSpec().getPorts();
            Map<String, String> selector = service.getSpec().getSelector();
            List<PodProcess> selected = selector == null || selector.isEmpty() ? List.of()
                    : pods.stream().filter(p -> p.labels().entrySet().containsAll(selector.entrySet())).toList();
            names.put(name, port -> {
                List<String> addresses = new ArrayList<>();
                for (PodProcess pod : selected) {
                    Integer host = pod.hostPort(targetPort(pod, ports, port));
                    if (host != null) {
                        addresses.add(LOOPBACK + ":" + host);
                    }
                }
                return addresses.isEmpty() ? null : addresses;
            });
            if (!ports.isEmpty()) {
                firstPorts.put(name, ports.getFirst().getPort());
            }
            // the pods this Service governs (StatefulSets naming it) have names of their own under it
            for (PodProcess pod : pods) {
                if (name.equals(pod.governingService())) {
                    names.put(pod.name() + "." + name, port -> {
                        Integer host = pod.hostPort(targetPort(pod, ports, port));
                        return host == null ? null : List.of(LOOPBACK + ":" + host);
                    });
                }
            }
        }
        if (names.isEmpty()) {
            pattern = null;
            return;
        }
        StringBuilder alternatives = new StringBuilder();
        names.keySet().stream().sorted(Comparator.comparingInt(String::length).reversed()).forEach(name -> {
            alternatives.append(alternatives.isEmpty() ? "" : "|").append(Pattern.quote(name));
        });
        String suffix = "(?:\\." + Pattern.quote(namespace) + "(?:\\.svc(?:\\.cluster\\.local)?)?)?";
        pattern = Pattern.compile("(?<![A-Za-z0-9.-])(" + alternatives + ")" + suffix + ":(\\d{1,5})(?!\\d)");
    }

    /** The container port behind a Service's {@code port} on {@code pod} (the asked port itself when not listed). */
    private static int targetPort(PodProcess pod, List<V1ServicePort> ports, int port) {
        for (V1ServicePort servicePort : ports) {
            if (servicePort.getPort() == port) {
                IntOrString target = servicePort.getTargetPort();
                if (target == null) {
                    return port;
                }
                if (target.isInteger()) {
                    return target.getIntValue();
                }
                Integer named = pod.containerPort(target.getStrValue());
                return named == null ? -1 : named;
            }
        }
        return port;
    }

    /** {@code text} with every {@code name:port} it can resolve replaced by the loopback addresses, comma-separated. */
    String rewrite(String text) {
        if (pattern == null || text == null) {
            return text;
        }
        Matcher matcher = pattern.matcher(text);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            List<String> addresses = names.get(matcher.group(1)).apply(Integer.parseInt(matcher.group(2)));
            matcher.appendReplacement(out, Matcher.quoteReplacement(addresses == null ? matcher.group() : String.join(",", addresses)));
        }
        matcher.appendTail(out);
        return out.toString();
    }

    /**
     * What Hazelcast's Kubernetes DNS discovery finds under {@code serviceDns} (a Service's name, with or without the
     * namespace's suffixes): every selected pod's address at the Service's first port; null when it is not a Service.
     */
    List<String> members(String serviceDns) {
        String name = withoutSuffix(serviceDns);
        Integer port = firstPorts.get(name);
        IntFunction<List<String>> lookup = names.get(name);
        return port == null || lookup == null ? null : lookup.apply(port);
    }

    private String withoutSuffix(String host) {
        for (String suffix : List.of("." + namespace + ".svc.cluster.local", "." + namespace + ".svc", "." + namespace)) {
            if (host.endsWith(suffix)) {
                return host.substring(0, host.length() - suffix.length());
            }
        }
        return host;
    }
}
