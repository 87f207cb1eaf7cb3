package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.PodSandboxState;
import io.kuasar.api.cri.v1.RemoveContainerRequest;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * What a CRI user can get wrong (containerd makes the pod and container ids itself): each is refused with an error
 * naming the culprit, leaves nothing behind, and does not harm the pod.
 */
class BadInputTest extends CriTestBase {

    @Test
    void containerWithMissingImageIsRejectedAndThePodStaysUsable() {
        PodSandboxConfig pod = podConfig("noimage");
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        String image = "localhost/kuasar/no-such-image:1.0";
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> cri.createContainer(podId, pod, containerConfig("ghost", image, "true")));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), e::getMessage);
        assertTrue(e.getMessage().contains(image), e::getMessage);
        assertEquals(List.of(), containersOf(podId));
        assertPodStillRuns(podId, pod);
    }

    @Test
    void containerWithMissingExecutableFailsNamingItAndThePodStaysUsable() {
        PodSandboxConfig pod = podConfig("noexec");
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        String program = "/bin/no-such-program-kuasar";
        AtomicReference<String> created = new AtomicReference<>();
        // runc looks the executable up while creating the task, which CRI does in StartContainer.
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> {
            created.set(cri.createContainer(podId, pod, containerConfig("broken", busybox(), program)));
            cri.startContainer(created.get());
        });
        assertTrue(e.getMessage().contains("no-such-program-kuasar"), e::getMessage);
        if (created.get() != null) {
            assertTrue(cri.containerStatus(created.get()).getState() != ContainerState.CONTAINER_RUNNING);
            cri.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(created.get()).build());
        }
        assertEquals(List.of(), containersOf(podId));
        assertPodStillRuns(podId, pod);
    }

    @Test
    void unknownRuntimeHandlerIsRejectedAndLeavesNoPod() {
        String handler = "no-such-handler";
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> runPod(podConfig("nohandler"), handler));
        assertTrue(e.getMessage().contains(handler), e::getMessage);
        assertEquals(List.of(), cri.podsOfRun(runTag));
    }

    /** The pod is READY and runs a fresh container to completion with its output logged. */
    private void assertPodStillRuns(String podId, PodSandboxConfig pod) {
        assertEquals(PodSandboxState.SANDBOX_READY, podState(podId));
        String id = cri.runContainer(podId, pod, containerConfig("fine", busybox(), "echo", "still-fine"));
        assertEquals(0, cri.waitForState(id, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
        assertEquals("still-fine\n", cri.waitForLog(id, "still-fine", WAIT));
    }
}
