package io.kuasar.spi;

import java.util.List;
import java.util.Map;

/**
 * The parts of CRI's {@code PodSandboxConfig} a driver needs, decoded by the endpoint so drivers need no CRI types.
 *
 * @param name          pod name (metadata.name)
 * @param podNamespace  Kubernetes namespace (metadata.namespace)
 * @param uid           pod uid
 * @param hostname      hostname for the pod's UTS namespace
 * @param logDirectory  where CRI keeps the pod's container logs
 * @param network       namespace mode of the network namespace
 * @param pid           namespace mode of the PID namespace ({@code POD} when containers share it)
 * @param ipc           namespace mode of the IPC namespace
 * @param cgroupParent  cgroup parent CRI asks for, may be empty
 * @param sysctls       pod sysctls
 * @param dnsServers    DNS servers for resolv.conf
 * @param dnsSearches   DNS search domains
 * @param dnsOptions    DNS options
 */
public record PodConfig(String name, String podNamespace, String uid, String hostname, String logDirectory,
                        NamespaceMode network, NamespaceMode pid, NamespaceMode ipc, String cgroupParent,
                        Map<String, String> sysctls, List<String> dnsServers, List<String> dnsSearches,
                        List<String> dnsOptions) {
    /** CRI's NamespaceMode: POD shares the pod's namespace, CONTAINER gives each its own, NODE uses the host's. */
    public enum NamespaceMode { POD, CONTAINER, NODE, TARGET }

    public PodConfig {
        sysctls = sysctls == null ? Map.of() : Map.copyOf(sysctls);
        dnsServers = dnsServers == null ? List.of() : List.copyOf(dnsServers);
        dnsSearches = dnsSearches == null ? List.of() : List.copyOf(dnsSearches);
        dnsOptions = dnsOptions == null ? List.of() : List.copyOf(dnsOptions);
    }
}
