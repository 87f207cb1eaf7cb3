package io.kuasar.driver.quark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.driver.kit.TaskSpecs;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;

/**
 * OCI specs as gVisor wants them for a pod. runsc runs a pod as one sandbox: a root ("sandbox") container made
 * first, then each app container added to it, told apart by CRI's annotations, which runsc reads.
 */
final class GvisorSpec {
    static final String CONTAINER_TYPE = "io.kubernetes.cri.container-type";
    static final String SANDBOX_ID = "io.kubernetes.cri.sandbox-id";
    private static final ObjectMapper JSON = new ObjectMapper();

    private GvisorSpec() {
    }

    /**
     * The root container of the pod's sandbox: a tiny process from a read-only root holding one binary. gVisor
     * needs a root container to exist for as long as the sandbox does; CRI's pause image is not used (the driver
     * gets no rootfs for the sandbox), so the driver brings its own.
     */
    static ObjectNode sandboxSpec(String podId, String hostname, Path rootfs, List<String> argv) {
        ObjectNode spec = JSON.createObjectNode();
        spec.put("ociVersion", "1.0.2");
        ObjectNode process = spec.putObject("process");
        ArrayNode args = process.putArray("args");
        argv.forEach(args::add);
        process.put("cwd", "/");
        process.putArray("env").add("PATH=/");
        process.putObject("user").put("uid", 0).put("gid", 0);
        spec.putObject("root").put("path", rootfs.toString()).put("readonly", true);
        if (hostname != null && !hostname.isEmpty()) {
            spec.put("hostname", hostname);
        }
        spec.putObject("annotations").put(CONTAINER_TYPE, "sandbox").put(SANDBOX_ID, podId);
        // No network entry: runsc starts inside the pod's netns (nsenter) and, with --network=host, stays there.
        ArrayNode ns = spec.putObject("linux").putArray("namespaces");
        for (String type : List.of("pid", "ipc", "uts", "mount")) {
            ns.addObject().put("type", type);
        }
        return spec;
    }

    /**
     * Makes containerd's spec of an app container acceptable to runsc: marks it as a container of the pod's
     * sandbox, and replaces the namespace paths CRI wrote (/proc/&lt;pid Start returned&gt;/ns/...). Inside gVisor
     * the sandbox's own kernel provides IPC, UTS and PID namespaces, so those paths are dropped (runsc would
     * otherwise make the container's gofer join host namespaces it has no use for); the network entry points at
     * the pod's netns, or goes when the pod uses the host's network.
     */
    static void prepareContainer(Path configJson, String podId, String netnsPath)
            throws SandboxException, IOException {
        ObjectNode spec = TaskSpecs.readConfig(configJson, JSON);
        rewrite(spec, podId, netnsPath);
        AtomicFiles.writeAtomically(configJson, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(spec));
    }

    /** @throws SandboxException for a namespace entry that is not an object (nothing changed then) */
    static void rewrite(ObjectNode spec, String podId, String netnsPath) throws SandboxException {
        JsonNode ann = spec.get("annotations");
        ObjectNode annotations = ann instanceof ObjectNode ? (ObjectNode) ann : spec.putObject("annotations");
        annotations.put(CONTAINER_TYPE, "container").put(SANDBOX_ID, podId);
        JsonNode linux = spec.get("linux");
        if (!(linux instanceof ObjectNode) || !(linux.get("namespaces") instanceof ArrayNode namespaces)) {
            return;
        }
        for (JsonNode ns : namespaces) {
            if (!ns.isObject()) {
                throw SandboxException.invalid("linux.namespaces holds " + ns.getNodeType() + " " + ns
                        + ", not an object");
            }
        }
        Iterator<JsonNode> it = namespaces.iterator();
        while (it.hasNext()) {
            ObjectNode ns = (ObjectNode) it.next();
            if ("network".equals(ns.path("type").asText())) {
                if (netnsPath == null || netnsPath.isEmpty()) {
                    it.remove();
                } else {
                    ns.put("path", netnsPath);
                }
            } else {
                ns.remove("path");
            }
        }
    }

    static byte[] bytes(ObjectNode spec) throws IOException {
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(spec);
    }
}
