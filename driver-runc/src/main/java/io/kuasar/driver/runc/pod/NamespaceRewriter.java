package io.kuasar.driver.runc.pod;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.driver.kit.TaskSpecs;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Points a container's namespaces at the pod's real ones.
 *
 * <p>Why: there is no pause process, yet CRI 2.1 writes {@code /proc/<pid>/ns/<type>} into every container spec,
 * with the pid the sandbox Start returned (WithPodNamespaces). The driver returns this JVM's pid, so these paths
 * name the host's own namespaces; at task create each one is replaced by what the pod really owns (pinned ipc/uts
 * files, CRI's netns file, the pid holder's ns/pid). A path that points at the returned pid but cannot be mapped
 * is an error: silently keeping it would put the container into the host's namespace.
 *
 * <p>It also refuses a spec asking for a capability the node lacks, with that reason ({@link #checkCapabilities}).
 *
 * <p>Two more kinds of target, both about what a pause container would have given the pod on stock containerd:
 * <ul>
 *   <li>{@link #NODE} for a namespace the pod takes from the node (hostNetwork, hostIPC, hostPID): the entry is
 *       dropped, so runc keeps the namespace it runs in, the node's. (Stock CRI points at the pause process, which
 *       runs in the node's namespace then; our served pid may be a previous JVM's after a restart.)</li>
 *   <li>a key starting with {@code /}: a container path the pod provides a file or directory for, bound from the
 *       value ({@code /etc/hosts}, {@code /etc/hostname}, {@code /etc/resolv.conf}, {@code /dev/shm}). CRI only
 *       binds these when its own podsandbox controller made them, which it does not for a remote sandboxer. A
 *       mount the client put at the same path wins, as on stock; the runtime's default /dev/shm tmpfs (one per
 *       container) is replaced, so the pod's containers share one.</li>
 * </ul>
 */
public final class NamespaceRewriter {
    private static final System.Logger LOG = System.getLogger(NamespaceRewriter.class.getName());
    private static final Pattern PROC_NS = Pattern.compile("/proc/(\\d+)/ns/([a-z_]+)");
    /** Target of a namespace the pod shares with the node: the spec's entry is removed. */
    static final String NODE = "node";
    /** OCI namespace type to the /proc/PID/ns entry naming it. */
    private static final Map<String, String> PROC_NAME = Map.of("network", "net", "ipc", "ipc", "uts", "uts",
            "pid", "pid", "mount", "mnt", "user", "user", "cgroup", "cgroup", "time", "time");

    private final ObjectMapper json = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * Rewrites {@code bundle/config.json} in place (atomically) if needed.
     *
     * @param servedPid the pid the sandbox Start returned
     * @param targets   OCI namespace type ("network", "ipc", "uts", "pid") to the path the pod really uses
     * @return true when the file changed
     */
    public boolean rewrite(Path configJson, long servedPid, Map<String, String> targets) throws SandboxException {
        ObjectNode root = TaskSpecs.readConfig(configJson, json);
        checkCapabilities(root, boundingSet());
        String original = root.path("linux").path("namespaces").toString();
        boolean changed = rewrite(root, servedPid, targets);
        if (changed) {
            LOG.log(System.Logger.Level.INFO, () -> configJson + ": namespaces as containerd wrote them " + original + " now use " + targets);
            try {
                AtomicFiles.writeAtomically(configJson, json.writeValueAsBytes(root));
            } catch (IOException e) {
                throw SandboxException.internal("cannot write " + configJson, e);
            }
        }
        return changed;
    }

    /** The tree form, for tests and for callers that already parsed the spec. */
    boolean rewrite(ObjectNode spec, long servedPid, Map<String, String> targets) throws SandboxException {
        JsonNode namespaces = spec.path("linux").path("namespaces");
        if (!namespaces.isArray()) {
            return false;
        }
        boolean changed = false;
        List<Integer> fromNode = new ArrayList<>();
        for (int i = 0; i < namespaces.size(); i++) {
            JsonNode ns = namespaces.get(i);
            String path = ns.path("path").asText("");
            Matcher m = PROC_NS.matcher(path);
            if (!m.matches() || !m.group(1).equals(Long.toString(servedPid))) {
                continue; // not ours: a real path the client chose, or no path (a new namespace)
            }
            String type = ns.path("type").asText("");
            if (!m.group(2).equals(PROC_NAME.get(type))) {
                throw SandboxException.invalid("namespace " + type + " has path " + path + " of another type");
            }
            String target = targets.get(type);
            if (target == null || target.isEmpty()) {
                throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "the container asks for the pod's "
                        + type + " namespace (" + path + ") but this sandbox has none"
                        + ("network".equals(type) ? " (host network pod, or no netns given)" : ""));
            }
            if (NODE.equals(target)) {
                fromNode.add(i);
            } else {
                ((ObjectNode) ns).put("path", target);
            }
            changed = true;
        }
        for (int i = fromNode.size() - 1; i >= 0; i--) {
            ((ArrayNode) namespaces).remove(fromNode.get(i).intValue());
        }
        return bindPodPaths(spec, targets) | changed;
    }

    /** Adds the pod's bind mounts (keys starting with /) unless the spec already mounts something else there. */
    private static boolean bindPodPaths(ObjectNode spec, Map<String, String> targets) {
        boolean changed = false;
        for (Map.Entry<String, String> e : new TreeMap<>(targets).entrySet()) {
            String destination = e.getKey();
            if (!destination.startsWith("/")) {
                continue;
            }
            JsonNode existing = spec.path("mounts");
            ArrayNode mounts = existing.isArray()
                    ? (ArrayNode) existing : spec.putArray("mounts");
            int runtimeDefault = -1;
            boolean clientMount = false;
            for (int i = 0; i < mounts.size(); i++) {
                JsonNode m = mounts.get(i);
                if (destination.equals(m.path("destination").asText())) {
                    if (isRuntimeDefault(m)) {
                        runtimeDefault = i;
                    } else {
                        clientMount = true;
                    }
                }
            }
            if (clientMount) {
                continue; // a CRI mount (or this rewrite, replayed) already provides it
            }
            ObjectNode bind = mounts.objectNode().put("destination", destination).put("type", "bind")
                    .put("source", e.getValue());
            bind.putArray("options").add("rbind").add("rprivate").add("rw");
            if (runtimeDefault >= 0) {
                mounts.set(runtimeDefault, bind);
            } else {
                mounts.add(bind);
            }
            changed = true;
        }
        return changed;
    }

    /** Linux capability names in bit order (capability.h), as OCI specs spell them after "CAP_". */
    private static final List<String> CAPABILITIES = List.of("CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER",
            "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
            "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE",
            "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
            "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
            "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE");

    /**
     * Refuses a spec asking for a capability this node's bounding set lacks (runc inherits this JVM's), naming it:
     * runc would fail with only "unable to apply caps: operation not permitted". Unknown names are left to runc.
     */
    static void checkCapabilities(ObjectNode spec, long bounding) throws SandboxException {
        java.util.Set<String> missing = new java.util.TreeSet<>();
        spec.path("process").path("capabilities").forEach(set -> set.forEach(cap -> {
            String name = cap.asText("");
            int bit = CAPABILITIES.indexOf(name.startsWith("CAP_") ? name.substring(4) : name);
            if (bit >= 0 && (bounding >>> bit & 1) == 0) {
                missing.add("CAP_" + CAPABILITIES.get(bit));
            }
        }));
        if (!missing.isEmpty()) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "the container asks for "
                    + String.join(", ", missing) + ", which this node's capability bounding set (CapBnd "
                    + Long.toHexString(bounding) + ") lacks: the node itself runs without it, so no container here can"
                    + " have it; drop it from the container's securityContext");
        }
    }

    /** This process's capability bounding set (all bits when it cannot be read: runc then has the last word). */
    private static long boundingSet() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapBnd:")) {
                    return Long.parseUnsignedLong(line.substring(7).strip(), 16);
                }
            }
        } catch (IOException | NumberFormatException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "cannot read CapBnd: " + e);
        }
        return -1L;
    }

    /** containerd's default spec mounts a tmpfs named "shm" at /dev/shm for every container. */
    private static boolean isRuntimeDefault(JsonNode mount) {
        return "/dev/shm".equals(mount.path("destination").asText()) && "tmpfs".equals(mount.path("type").asText())
                && "shm".equals(mount.path("source").asText());
    }
}
