package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.NamespaceMode;
import io.kuasar.api.cri.v1.NamespaceOption;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * Which namespaces a pod's containers get (critest "NamespaceOption"): the pod's own network, IPC and UTS shared by
 * its containers and a PID namespace each (kubelet's default), the host's with NamespaceMode NODE (hostNetwork,
 * hostPID, hostIPC), and one PID namespace for the pod with shareProcessNamespace. Namespaces are compared by the
 * inode the container itself reads at /proc/self/ns/TYPE against the test JVM's (which runs in the host's), and for
 * the host's network also by what the container sees (the node's addresses), which holds on gVisor's kernel too.
 * "Not the host's" also needs the host's kernel (boot id): a VM guest's initial namespaces have the host's inode
 * numbers (see inHostNamespace).
 */
class CriHostNamespacesTest extends CriParityTestBase {

    @OnParityHandlers
    void containersOfAPodShareItsNetworkIpcAndUtsButEachHasItsOwnPidNamespace(String handler) {
        Pod p = pod("own-ns", handler);
        String one = p.running(sleeper("one"));
        String two = p.running(sleeper("two"));
        for (String type : new String[] {"net", "ipc", "uts"}) {
            String ns = namespaceInside(one, type);
            assertEquals(ns, namespaceInside(two, type), type + " shared by the pod's containers");
            assertFalse(inHostNamespace(one, type), type + " is the pod's own, not the host's");
        }
        String pidOne = namespaceInside(one, "pid");
        assertNotEquals(pidOne, namespaceInside(two, "pid"), "a pid namespace per container");
        assertFalse(inHostNamespace(one, "pid"), "pid is the container's own, not the host's");
        assertEquals("1\n", sh(one, "cat /proc/1/cmdline | tr '\\0' ' ' | grep -c '^sleep 3600 $'"),
                "the container's own process is its pid 1");
    }

    @OnParityHandlers
    void hostNetworkPodUsesTheHostsNetworkAndUtsNamespaces(String handler) throws IOException {
        NamespaceOption host = NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE)
                .setPid(NamespaceMode.CONTAINER).setIpc(NamespaceMode.POD).build();
        // The kubelet sends no hostname for a host-network pod (runc refuses one without a private UTS namespace).
        Pod p = pod(withNamespaces(podConfig("hostnet"), host).toBuilder().clearHostname().build(), handler);
        String id = p.running(withNamespaces(sleeper("hostnet"), host));
        // What the container sees: the node's own addresses (on the interface of its default route)
        String inside = sh(id, "ip -o -4 addr");
        for (String address : defaultRouteAddresses()) {
            assertTrue(inside.contains(" " + address + "/"), () -> "the node's address " + address
                    + " is not seen in the host-network container:\n" + inside);
        }
        // CRI gives a host-network pod the host's UTS namespace too, so the node's hostname.
        assertEquals(Files.readString(Path.of("/proc/sys/kernel/hostname")).strip(), sh(id, "hostname").strip());
        if (comparesInodes(handler)) {
            assertEquals(hostNamespace("net"), namespaceInside(id, "net"));
            assertEquals(hostNamespace("uts"), namespaceInside(id, "uts"));
        }
        assertNotEquals(hostNamespace("ipc"), namespaceInside(id, "ipc"), "IPC stays the pod's");
    }

    @OnParityHandlers
    void hostPidPodSeesTheHostsProcesses(String handler) {
        NamespaceOption host = NamespaceOption.newBuilder().setNetwork(NamespaceMode.POD)
                .setPid(NamespaceMode.NODE).setIpc(NamespaceMode.POD).build();
        Pod p = pod(withNamespaces(podConfig("hostpid"), host), handler);
        String id = p.running(withNamespaces(sleeper("hostpid"), host));
        assertEquals(hostNamespace("pid"), namespaceInside(id, "pid"));
        long me = ProcessHandle.current().pid();
        assertTrue(sh(id, "cat /proc/" + me + "/cmdline | tr '\\0' ' '").contains("java"),
                "the test JVM (pid " + me + ") is visible from the container");
    }

    @OnParityHandlers
    void hostIpcPodUsesTheHostsIpcNamespaceAndDevShm(String handler) throws IOException {
        NamespaceOption host = NamespaceOption.newBuilder().setNetwork(NamespaceMode.POD)
                .setPid(NamespaceMode.CONTAINER).setIpc(NamespaceMode.NODE).build();
        Pod p = pod(withNamespaces(podConfig("hostipc"), host), handler);
        String id = p.running(withNamespaces(sleeper("hostipc"), host));
        assertEquals(hostNamespace("ipc"), namespaceInside(id, "ipc"));
        Path marker = Path.of("/dev/shm", "kuasar-e2e-" + runTag);
        Files.writeString(marker, "from-host");
        try {
            assertEquals("from-host", sh(id, "cat " + marker));
        } finally {
            Files.deleteIfExists(marker);
        }
    }

    @OnParityHandlers
    void podSharingItsProcessNamespaceLetsContainersSeeEachOther(String handler) {
        NamespaceOption shared = NamespaceOption.newBuilder().setNetwork(NamespaceMode.POD)
                .setPid(NamespaceMode.POD).setIpc(NamespaceMode.POD).build();
        Pod p = pod(withNamespaces(podConfig("sharepid"), shared), handler);
        String one = p.running(withNamespaces(container("one", "sleep", "3601"), shared));
        String two = p.running(withNamespaces(container("two", "sleep", "3602"), shared));
        String pidNs = namespaceInside(one, "pid");
        assertEquals(pidNs, namespaceInside(two, "pid"));
        assertFalse(inHostNamespace(one, "pid"), "the pod's pid namespace is not the host's");
        String ps = sh(one, "ps -o args");
        assertTrue(ps.contains("sleep 3601") && ps.contains("sleep 3602"), () -> "ps in 'one':\n" + ps);
        // Neither container is the namespace's init: something of the pod (pause, or our holder) is pid 1.
        String init = sh(two, "cat /proc/1/cmdline | tr '\\0' ' '");
        assertTrue(!init.startsWith("sleep 360"), () -> "pid 1 of the shared namespace is '" + init + "'");
    }

    /**
     * Whether the handler's containers run on the host's kernel, whose namespace inodes the test JVM can compare. gVisor's
     * containers run on its own kernel (the Sentry), which numbers its namespaces itself: there only what the container
     * sees tells (the node's addresses, its hostname).
     */
    private static boolean comparesInodes(String handler) {
        return !handler.equals(RUNSC);
    }

    /** The IPv4 addresses of the interface of the node's default route (/proc/net/route, destination 0). */
    private static List<String> defaultRouteAddresses() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/net/route"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 1 && f[1].equals("00000000")) {
                NetworkInterface nic = NetworkInterface.getByName(f[0]);
                List<String> out = nic == null ? List.of() : nic.inetAddresses().filter(a -> a instanceof Inet4Address)
                        .map(InetAddress::getHostAddress).toList();
                Assumptions.assumeFalse(out.isEmpty(), () -> "the node's default route interface " + f[0]
                        + " has no IPv4 address to look for");
                return out;
            }
        }
        Assumptions.abort("the node has no default route: no interface of its own to look for");
        return List.of();
    }

    private static PodSandboxConfig withNamespaces(PodSandboxConfig pod, NamespaceOption ns) {
        return securedPod(pod, s -> s.setNamespaceOptions(ns));
    }

    private static ContainerConfig withNamespaces(ContainerConfig c, NamespaceOption ns) {
        return secured(c, s -> s.setNamespaceOptions(ns));
    }
}
