package io.kuasar.driver.runc;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
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
 */
final class NamespaceRewriter {
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(NamespaceRewriter.class.getName());
    private static final Pattern PROC_NS = Pattern.compile("/proc/(\\d+)/ns/([a-z_]+)");
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
    boolean rewrite(Path configJson, long servedPid, Map<String, String> targets) throws SandboxException {
        ObjectNode root;
        try {
            JsonNode n = json.readTree(configJson.toFile());
            if (!(n instanceof ObjectNode o)) {
                throw SandboxException.invalid(configJson + " is not a JSON object");
            }
            root = o;
        } catch (IOException e) {
            throw SandboxException.invalid("cannot read " + configJson + ": " + e.getMessage());
        }
        String original = root.path("linux").path("namespaces").toString();
        boolean changed = rewrite(root, servedPid, targets);
        if (changed) {
            LOG.info(() -> configJson + ": namespaces as containerd wrote them " + original + " now use " + targets);
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
        for (JsonNode ns : namespaces) {
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
            ((ObjectNode) ns).put("path", target);
            changed = true;
        }
        return changed;
    }
}
