package io.kuasar.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.google.gson.JsonParser;
import io.kubernetes.client.openapi.models.V1DaemonSet;
import io.kubernetes.client.openapi.models.V1RuntimeClass;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * packaging/kubernetes/*.yaml against the Kubernetes API's own schema: the models of the official Java client
 * (io.kubernetes:client-java-api, generated from the API server's OpenAPI document) refuse a field the schema does
 * not have, lack a required one, or hold a value of the wrong type or an unparsable quantity. kubectl cannot do this
 * without a cluster: its --validate downloads the schema from the API server.
 */
class KubernetesManifestsTest {
    private static final Path REPO = Path.of(System.getProperty("kuasar.repo", "..")).toAbsolutePath().normalize();
    private static final Path DIR = REPO.resolve("packaging/kubernetes");
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyRuntimeClassIsValidNodeK8sIoV1AndNamesAHandlerOfTheDropIn() throws IOException {
        List<JsonNode> classes = documents(DIR.resolve("runtimeclasses.yaml"));
        Set<String> handlers = new TreeSet<>();
        for (JsonNode doc : classes) {
            V1RuntimeClass rc = runtimeClass(doc);
            assertEquals("node.k8s.io/v1", rc.getApiVersion());
            assertEquals(rc.getMetadata().getName(), rc.getHandler(), "each class is named after its handler");
            assertTrue(rc.getOverhead().getPodFixed().get("memory").getNumber().signum() > 0,
                    rc.getHandler() + " declares its measured memory overhead");
            assertEquals("true", rc.getScheduling().getNodeSelector().get("kuasar.io/node"),
                    rc.getHandler() + " runs only on nodes with the node service");
            handlers.add(rc.getHandler());
        }
        assertEquals(new TreeSet<>(List.of("kuasar-runc", "kuasar-runsc", "kuasar-wasm", "kuasar-wasmedge",
                "kuasar-wasmtime", "kuasar-vmm")), handlers);
        String dropIn = Files.readString(REPO.resolve("packaging/deb/files/containerd-kuasar.toml"));
        for (String h : handlers) {
            assertTrue(dropIn.contains("runtimes." + h + "]"), "the containerd drop-in offers " + h);
        }
    }

    @Test
    void theDriverRolloutIsAValidAppsV1DaemonSet() throws IOException {
        List<JsonNode> docs = documents(DIR.resolve("driver-rollout.yaml"));
        assertEquals(1, docs.size());
        V1DaemonSet ds = daemonSet(docs.get(0));
        assertEquals("/var/lib/kuasar", ds.getSpec().getTemplate().getSpec().getVolumes().get(0).getHostPath().getPath());
        assertEquals("true", ds.getSpec().getTemplate().getSpec().getNodeSelector().get("kuasar.io/node"));
    }

    /** The check can fail: a misspelt field, a missing handler, a bad quantity, a wrong type. */
    @Test
    void aWrongManifestIsRefused() throws IOException {
        JsonNode good = documents(DIR.resolve("runtimeclasses.yaml")).get(0);
        ObjectNode misspelt = good.deepCopy();
        misspelt.set("handlr", misspelt.remove("handler"));
        assertRefused(misspelt, "handlr");
        ObjectNode nested = good.deepCopy();
        ((ObjectNode) nested.get("scheduling")).put("nodeSelectr", "x");
        assertRefused(nested, "nodeSelectr");
        ObjectNode noHandler = good.deepCopy();
        noHandler.remove("handler");
        assertRefused(noHandler, "handler");
        ObjectNode badQuantity = good.deepCopy();
        ((ObjectNode) badQuantity.get("overhead").get("podFixed")).put("memory", "64 kilobytes");
        assertRefused(badQuantity, "quantity");

        ObjectNode ds = documents(DIR.resolve("driver-rollout.yaml")).get(0).deepCopy();
        ((ObjectNode) ds.get("spec").get("template").get("spec").get("containers").get(0)).put("imagePullPolicyy", "Always");
        Exception e = assertThrows(Exception.class, () -> daemonSet(ds));
        assertTrue(String.valueOf(e.getMessage()).contains("imagePullPolicyy"), e.toString());
        ObjectNode wrongType = documents(DIR.resolve("driver-rollout.yaml")).get(0).deepCopy();
        ((ObjectNode) wrongType.get("spec").get("template").get("spec")).put("volumes", "kuasar-state");
        assertThrows(Exception.class, () -> daemonSet(wrongType), "a list given as a string is refused");
    }

    private static void assertRefused(JsonNode doc, String naming) {
        Exception e = assertThrows(Exception.class, () -> runtimeClass(doc), "refused: " + doc);
        assertTrue(String.valueOf(e.getMessage()).contains(naming), "the error names " + naming + ": " + e);
    }

    /** The schema's checks (fields known, required present, types), then a full read (quantities parsed). */
    private static V1RuntimeClass runtimeClass(JsonNode doc) throws IOException {
        String json = JSON.writeValueAsString(doc);
        V1RuntimeClass.validateJsonElement(JsonParser.parseString(json));
        return V1RuntimeClass.fromJson(json);
    }

    private static V1DaemonSet daemonSet(JsonNode doc) throws IOException {
        String json = JSON.writeValueAsString(doc);
        V1DaemonSet.validateJsonElement(JsonParser.parseString(json));
        return V1DaemonSet.fromJson(json);
    }

    private static List<JsonNode> documents(Path file) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        YAMLMapper yaml = new YAMLMapper();
        try (var parser = new YAMLFactory().createParser(file.toFile())) {
            for (var it = yaml.readValues(parser, JsonNode.class); it.hasNext(); ) {
                JsonNode doc = it.next();
                if (doc != null && !doc.isEmpty()) {
                    docs.add(doc);
                }
            }
        }
        return docs;
    }

    /** docs/kubernetes.md shows the manifests from these files, not copies that could drift. */
    @Test
    void theDocNamesTheManifestFiles() throws IOException {
        String doc = Files.readString(REPO.resolve("docs/kubernetes.md"));
        Matcher m = Pattern.compile("packaging/kubernetes/([a-z-]+\\.yaml)").matcher(doc);
        Set<String> named = new TreeSet<>();
        while (m.find()) {
            named.add(m.group(1));
        }
        try (var files = Files.list(DIR)) {
            assertEquals(files.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toCollection(TreeSet::new)), named);
        }
    }
}
