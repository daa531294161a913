package io.moefleet.controller;

import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.util.Yaml;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The fleet's objects as the kustomize base writes them ({@code k8s/base}, packed into this jar at build time): one
 * source for {@code kubectl apply -k} and for the controller. The base names its fleet {@code moefleet}; a fleet of
 * another name gets the same objects with that name in their names, labels and the addresses between them.
 */
public final class FleetTemplates {

    /** The base's files holding one fleet's own objects (the CRD, the controller and the models' claim are shared). */
    static final List<String> FILES = List.of("fleet-configmap.yaml", "expert.yaml", "attention.yaml", "kv-cache.yaml",
            "router.yaml", "pdbs.yaml", "network-policies.yaml");

    static final String BASE_NAME = "moefleet";
    private static final String MODELS_CLAIM = "moefleet-models";

    private FleetTemplates() {}

    /** The objects of a fleet called {@code fleetName}, fresh typed models (the caller may change them). */
    public static List<KubernetesObject> forFleet(String fleetName) {
        List<KubernetesObject> objects = new ArrayList<>();
        for (String file : FILES) {
            String yaml = read(file)
                    .replace(MODELS_CLAIM, "\u0000claim")   // the models' claim is the operator's, not the fleet's
                    .replace(BASE_NAME + "-", fleetName + "-")
                    .replace("app.kubernetes.io/instance: " + BASE_NAME, "app.kubernetes.io/instance: " + fleetName)
                    .replace("\u0000claim", MODELS_CLAIM);
            try {
                for (Object object : Yaml.loadAll(yaml)) {
                    objects.add((KubernetesObject) object);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("the template " + file + " does not parse", e);
            }
        }
        return objects;
    }

    private static String read(String file) {
        try (InputStream in = FleetTemplates.class.getResourceAsStream("base/" + file)) {
            if (in == null) {
                throw new IllegalStateException("the template " + file + " is missing from the controller's jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
