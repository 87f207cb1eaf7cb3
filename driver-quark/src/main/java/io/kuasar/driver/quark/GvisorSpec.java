package io.kuasar.driver.quark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.driver.kit.TaskSpecs;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * OCI specs as gVisor wants them for a pod. runsc runs a pod as one sandbox: a root ("sandbox") container made
 * first, then each app container added to it, told apart by CRI's annotations, which runsc reads.
 */
final class GvisorSpec {
    static final String CONTAINER_TYPE = "io.kubernetes.cri.container-type";
    static final String SANDBOX_ID = "io.kubernetes.cri.sandbox-id";
    /**
     * The pod's /dev/shm: its host directory (under the pod's files) is only the name by which gVisor's mount hint
     * (annotations {@code dev.gvisor.spec.mount.NAME.*} of the sandbox container) finds each container's /dev/shm
     * mount; gVisor then gives all of them one tmpfs of its own kernel, shared by the pod (share=pod).
     */
    static final String SHM = "shm";
    private static final String SHM_HINT = "dev.gvisor.spec.mount.kuasar-shm.";
    private static final ObjectMapper JSON = new ObjectMapper();

    private GvisorSpec() {
    }

    /**
     * The root container of the pod's sandbox: a tiny process from a read-only root holding one binary. gVisor
     * needs a root container to exist for as long as the sandbox does; CRI's pause image is not used (the driver
     * gets no rootfs for the sandbox), so the driver brings its own.
     */
    static ObjectNode sandboxSpec(String podId, String hostname, Path rootfs, List<String> argv, Path shm,
                                  String cgroup) {
        ObjectNode spec = JSON.createObjectNode();
        spec.put("ociVersion", "1.0.2");
        ObjectNode process = spec.putObject("process");
        ArrayNode args = process.putArray("args");
        argv.forEach(args::add);
        process.put("cwd", "/");
        process.putArray("env").add("PATH=/");
        process.putObject("user").put("uid", 0).put("gid", 0);
        // runsc --net-raw with --network=host wants CAP_NET_RAW in the root container's sets, else the sandbox
        // does not start ("configuring network=host with raw sockets requires CAP_NET_RAW capability")
        ObjectNode caps = process.putObject("capabilities");
        for (String set : List.of("bounding", "effective", "permitted")) {
            caps.putArray(set).add("CAP_NET_RAW");
        }
        spec.putObject("root").put("path", rootfs.toString()).put("readonly", true);
        if (hostname != null && !hostname.isEmpty()) {
            spec.put("hostname", hostname);
        }
        spec.putObject("annotations").put(CONTAINER_TYPE, "sandbox").put(SANDBOX_ID, podId)
                .put(SHM_HINT + "source", shm.toString()).put(SHM_HINT + "type", "tmpfs")
                .put(SHM_HINT + "share", "pod");
        // No network entry: runsc starts inside the pod's netns (nsenter) and, with --network=host, stays there.
        ObjectNode linux = spec.putObject("linux");
        if (!cgroup.isEmpty()) {
            linux.put("cgroupsPath", cgroup); // runsc puts the sandbox and its gofers there (cgroup v1 and v2)
        }
        ArrayNode ns = linux.putArray("namespaces");
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
     * the pod's netns, or goes when the pod uses the host's network. The pod's own files ({@code podFiles}, container
     * path to host file) are bound where the spec mounts nothing else: CRI binds them only for its own pause pods.
     */
    static void prepareContainer(Path configJson, String podId, String netnsPath, Map<String, String> podFiles)
            throws SandboxException, IOException {
        ObjectNode spec = TaskSpecs.readConfig(configJson, JSON);
        GvisorLimits.checkContainer(spec);
        rewrite(spec, podId, netnsPath);
        bindPodFiles(spec, podFiles);
        AtomicFiles.writeAtomically(configJson, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(spec));
    }

    /** The host cgroup containerd named for a container ({@code linux.cgroupsPath}), "" when none or unreadable. */
    static String cgroupsPath(Path configJson) {
        try {
            return JSON.readTree(configJson.toFile()).path("linux").path("cgroupsPath").asText("");
        } catch (IOException e) {
            return "";
        }
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
            String type = ns.path("type").asText();
            if ("network".equals(type)) {
                if (netnsPath == null || netnsPath.isEmpty()) {
                    it.remove();
                } else {
                    ns.put("path", netnsPath);
                }
            } else if ("pid".equals(type) && ns.has("path")) {
                // CRI names the pod's PID namespace (shareProcessNamespace): without an entry runsc puts the
                // container into the sandbox's root PID namespace, whose init is the pod's pause process
                it.remove();
            } else {
                ns.remove("path");
            }
        }
    }

    /**
     * Adds a bind mount of each pod file whose container path no mount of the spec has (a client's own mount there
     * wins, as on stock); the files read-only with a read-only root, as CRI does. The runtime's default /dev/shm (a tmpfs per
     * container) gives way to the pod's ({@link #SHM}).
     */
    static void bindPodFiles(ObjectNode spec, Map<String, String> podFiles) throws SandboxException {
        JsonNode m = spec.get("mounts");
        if (m != null && !m.isArray()) {
            throw SandboxException.invalid("mounts is " + m.getNodeType() + ", not an array");
        }
        ArrayNode mounts = m == null ? spec.putArray("mounts") : (ArrayNode) m;
        if (podFiles.containsKey("/dev/shm")) {
            Iterator<JsonNode> it = mounts.iterator();
            while (it.hasNext()) {
                JsonNode e = it.next();
                if ("/dev/shm".equals(e.path("destination").asText()) && "tmpfs".equals(e.path("type").asText())) {
                    it.remove();
                }
            }
        }
        Set<String> taken = new HashSet<>();
        mounts.forEach(e -> taken.add(e.path("destination").asText()));
        String mode = spec.path("root").path("readonly").asBoolean(false) ? "ro" : "rw";
        for (Map.Entry<String, String> f : new TreeMap<>(podFiles).entrySet()) {
            if (!taken.contains(f.getKey())) {
                ObjectNode bind = mounts.addObject().put("destination", f.getKey()).put("type", "bind")
                        .put("source", f.getValue());
                ArrayNode options = bind.putArray("options").add("rbind").add("rprivate");
                if (f.getKey().equals("/dev/shm")) {
                    options.add("rw").add("nosuid").add("nodev").add("noexec"); // writable even with a read-only root
                } else {
                    options.add(mode);
                }
            }
        }
    }

    static byte[] bytes(ObjectNode spec) throws IOException {
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(spec);
    }

    /**
     * A read-only root for the sandbox containers of every pod, {@code root}, holding only the pause binary
     * {@code source} under the name {@code name} its first argument gives (copied once, atomically: the gofer serves
     * it from here).
     */
    static Path pauseRoot(Path root, Path source, String name) throws IOException {
        if (!Files.isExecutable(source)) {
            throw new IOException("pause binary " + source + " (setting pause.binary) is missing: gVisor needs a root"
                    + " process per sandbox; install busybox-static or name a static binary");
        }
        Path target = root.resolve(name);
        if (!Files.exists(target) || Files.size(target) != Files.size(source)) {
            Path tmp = root.resolve("." + target.getFileName() + ".tmp");
            Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        return root;
    }
}
