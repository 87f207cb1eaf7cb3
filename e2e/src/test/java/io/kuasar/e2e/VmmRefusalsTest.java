package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.NamespaceMode;
import io.kuasar.api.cri.v1.NamespaceOption;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What {@code kuasar-vmm} refuses at RunPodSandbox because a VM cannot do it (VmmLimits): the host's namespaces.
 * Each refusal comes through containerd's CRI as INVALID_ARGUMENT naming the reason, and leaves nothing of the pod
 * behind. (Bidirectional mount propagation: CriMountsTest.)
 */
class VmmRefusalsTest extends CriParityTestBase {

    @BeforeAll
    static void qemuAndTheGuestImageAreThere() {
        HostTools.requireHandler(VMM);
    }

    @Test
    void podAskingForAHostNamespaceIsRefusedNamingIt() {
        Map<String, NamespaceOption> asks = Map.of(
                "network namespace", CriClient.KUBELET_NAMESPACES.toBuilder().setNetwork(NamespaceMode.NODE).build(),
                "PID namespace", CriClient.KUBELET_NAMESPACES.toBuilder().setPid(NamespaceMode.NODE).build(),
                "IPC namespace", CriClient.KUBELET_NAMESPACES.toBuilder().setIpc(NamespaceMode.NODE).build());
        asks.forEach((what, ns) -> {
            PodSandboxConfig plain = podConfig("host-" + what.substring(0, 3).toLowerCase());
            PodSandboxConfig config = securedPod(ns.getNetwork() == NamespaceMode.NODE ? plain.toBuilder()
                    .clearHostname().build() : plain, s -> s.setNamespaceOptions(ns));
            StatusRuntimeException e = failure(() -> runPod(config, VMM));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getMessage());
            assertTrue(e.getMessage().contains("cannot share the host's " + what), e.getMessage());
        });
        assertEquals(List.of(), cri.podsOfRun(runTag), "refused pods left in CRI");
    }
}
