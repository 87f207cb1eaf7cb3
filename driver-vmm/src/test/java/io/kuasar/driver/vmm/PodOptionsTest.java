package io.kuasar.driver.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.PodConfig;
import io.kuasar.spi.PodConfig.NamespaceMode;
import io.kuasar.spi.SandboxException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a VM pod refuses at Create from CRI's pod config, and the sysctls it hands to the agent. */
class PodOptionsTest {

    private static PodConfig pod(NamespaceMode net, NamespaceMode pid, NamespaceMode ipc, Map<String, String> sysctls) {
        return new PodConfig("p", "default", "uid", "h", "/logs", net, pid, ipc, "", sysctls, null, null, null);
    }

    @Test
    void eachHostNamespaceIsRefusedNamingIt() {
        Map<String, PodConfig> asks = Map.of(
                "hostNetwork", pod(NamespaceMode.NODE, NamespaceMode.CONTAINER, NamespaceMode.POD, Map.of()),
                "hostPID", pod(NamespaceMode.POD, NamespaceMode.NODE, NamespaceMode.POD, Map.of()),
                "hostIPC", pod(NamespaceMode.POD, NamespaceMode.CONTAINER, NamespaceMode.NODE, Map.of()));
        asks.forEach((what, pod) -> {
            SandboxException e = assertThrows(SandboxException.class, () -> PodOptions.refuseHostNamespaces(pod));
            assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code());
            assertTrue(e.getMessage().contains(what) && e.getMessage().contains("cannot share the host's"), e.getMessage());
        });
    }

    @Test
    void podNamespacesAndNoPodConfigPass() throws SandboxException {
        PodOptions.refuseHostNamespaces(pod(NamespaceMode.POD, NamespaceMode.POD, NamespaceMode.POD, Map.of()));
        PodOptions.refuseHostNamespaces(null);
    }

    @Test
    void namespacedSysctlsGoToTheAgentSortedAsNameEqualsValue() throws SandboxException {
        assertEquals(List.of("fs.mqueue.msg_max=20", "kernel.msgmax=9000", "net.ipv4.ip_forward=1"),
                PodOptions.sysctls(pod(NamespaceMode.POD, NamespaceMode.CONTAINER, NamespaceMode.POD, Map.of(
                        "net/ipv4/ip_forward", "1", "kernel.msgmax", "9000", "fs.mqueue.msg_max", "20"))));
    }

    @Test
    void aSysctlThatIsNotNamespacedOrNeedsTheHostsNetworkOrIsMalformedIsRefused() {
        Map<String, PodConfig> refused = Map.of(
                "kernel.panic is not namespaced", pod(NamespaceMode.POD, NamespaceMode.CONTAINER, NamespaceMode.POD,
                        Map.of("kernel.panic", "7")),
                "net.ipv4.ip_forward needs the pod's own network namespace", pod(NamespaceMode.NODE,
                        NamespaceMode.CONTAINER, NamespaceMode.POD, Map.of("net.ipv4.ip_forward", "1")),
                "sysctl name net..x is not valid", pod(NamespaceMode.POD, NamespaceMode.CONTAINER, NamespaceMode.POD,
                        Map.of("net..x", "1")),
                "several lines", pod(NamespaceMode.POD, NamespaceMode.CONTAINER, NamespaceMode.POD,
                        Map.of("net.ipv4.ip_forward", "1\nkernel.panic=1")));
        refused.forEach((message, pod) -> {
            SandboxException e = assertThrows(SandboxException.class, () -> PodOptions.sysctls(pod));
            assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code());
            assertTrue(e.getMessage().contains(message), e.getMessage());
        });
    }
}
