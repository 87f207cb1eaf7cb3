package io.kuasar.driver.quark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.driver.kit.PodSysctls;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxException;
import java.util.Map;
import java.util.Set;

/**
 * What a pod or container may ask for that gVisor cannot give, refused before anything is made, each with the limit
 * named: a pod runs on gVisor's own kernel (the Sentry), so it has no host PID or IPC namespace to share, takes no
 * IPC or UTS sysctls, and its mounts never propagate to or from the host. Listed in driver-quark/README.md.
 */
final class GvisorLimits {
    /** Mount options asking for propagation between the host and the container. */
    private static final Set<String> PROPAGATING = Set.of("shared", "rshared", "slave", "rslave");

    private GvisorLimits() {
    }

    /**
     * Checks a pod's namespace options and sysctls.
     *
     * @return the pod's sysctls, all network ones, which the driver sets in the pod's netns
     * @throws SandboxException naming what gVisor cannot do
     */
    static Map<String, String> checkPod(String podId, PodConfig config, String netnsPath) throws SandboxException {
        if (config == null) {
            return Map.of();
        }
        if (config.pid() == PodConfig.NamespaceMode.NODE) {
            throw refused("sandbox " + podId + " asks for the host's PID namespace (hostPID): gVisor runs the pod's"
                    + " processes on its own kernel, which cannot see or signal the host's processes");
        }
        if (config.ipc() == PodConfig.NamespaceMode.NODE) {
            throw refused("sandbox " + podId + " asks for the host's IPC namespace (hostIPC): gVisor implements"
                    + " System V IPC, POSIX message queues and /dev/shm in its own kernel, which cannot share the"
                    + " host's");
        }
        Map<String, PodSysctls.Namespace> kinds;
        try {
            kinds = PodSysctls.classify(config.sysctls(), true, netnsPath != null && !netnsPath.isEmpty());
        } catch (IllegalArgumentException e) {
            throw SandboxException.invalid(e.getMessage());
        }
        for (Map.Entry<String, PodSysctls.Namespace> k : kinds.entrySet()) {
            if (k.getValue() != PodSysctls.Namespace.NET) {
                throw refused("sysctl " + k.getKey() + " of sandbox " + podId + " cannot be set: gVisor's "
                        + k.getValue() + " namespace belongs to its own kernel, which takes no sysctls from the pod"
                        + " (only network ones apply, in the pod's netns, whose host network stack gVisor uses)");
            }
        }
        return config.sysctls();
    }

    /** Refuses a container whose mounts ask for propagation (HostToContainer, Bidirectional). */
    static void checkContainer(ObjectNode spec) throws SandboxException {
        for (JsonNode m : spec.path("mounts")) {
            for (JsonNode o : m.path("options")) {
                if (PROPAGATING.contains(o.asText())) {
                    throw refused("mount " + m.path("destination").asText() + " asks for " + o.asText()
                            + " propagation (HostToContainer or Bidirectional): gVisor serves host directories to its"
                            + " own kernel through its gofer, so mounts made later on either side never reach the other");
                }
            }
        }
    }

    private static SandboxException refused(String why) {
        return new SandboxException(SandboxException.Code.FAILED_PRECONDITION, why);
    }
}
