package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.PodSandboxState;
import io.kuasar.api.cri.v1.PodSandboxStatusRequest;
import io.kuasar.api.cri.v1.RemoveContainerRequest;
import io.kuasar.api.cri.v1.RemovePodSandboxRequest;
import io.kuasar.api.cri.v1.StopContainerRequest;
import io.kuasar.api.cri.v1.StopPodSandboxRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A pod's whole life on the Kuasar handler, exit codes, and container output in containerd's CRI log. */
class PodLifecycleTest extends CriTestBase {

    @Test
    void fullLifecycleOnKuasarRuncRunsExecsStopsAndRemovesEverything() {
        PodSandboxConfig pod = podConfig("lifecycle");
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        assertEquals(PodSandboxState.SANDBOX_READY, podState(podId));

        String id = cri.createContainer(podId, pod, containerConfig("main", busybox(),
                "sh", "-c", "echo hello-from-kuasar; sleep 3600"));
        assertEquals(ContainerState.CONTAINER_CREATED, cri.containerStatus(id).getState());
        cri.startContainer(id);
        cri.waitForState(id, ContainerState.CONTAINER_RUNNING, WAIT);
        assertEquals("hello-from-kuasar\n", cri.waitForLog(id, "hello-from-kuasar", WAIT));

        ExecSyncResponse ok = execSync(id, "echo", "exec-ok");
        assertEquals(0, ok.getExitCode(), () -> "stderr: " + ok.getStderr().toStringUtf8());
        assertEquals("exec-ok\n", ok.getStdout().toStringUtf8());
        assertEquals("", ok.getStderr().toStringUtf8());
        assertEquals(5, execSync(id, "sh", "-c", "exit 5").getExitCode());
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(id).getState(), "execs leave the container running");

        // sh as a pid-namespace init ignores SIGTERM, so this usually ends with SIGKILL after the 2 s grace period.
        cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(2).build());
        ContainerStatus stopped = cri.containerStatus(id);
        assertEquals(ContainerState.CONTAINER_EXITED, stopped.getState());
        assertTrue(Set.of(137, 143).contains(stopped.getExitCode()), "exit code " + stopped.getExitCode());
        assertTrue(stopped.getFinishedAt() >= stopped.getStartedAt() && stopped.getStartedAt() > 0,
                "started " + stopped.getStartedAt() + ", finished " + stopped.getFinishedAt());

        cri.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
        assertEquals(Status.Code.NOT_FOUND, assertThrows(StatusRuntimeException.class,
                () -> cri.containerStatus(id)).getStatus().getCode());
        assertEquals(List.of(), containersOf(podId));

        cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, podState(podId));
        cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
        forget(podId);
        assertFalse(cri.podListed(podId), "ListPodSandbox still shows " + podId);
        assertEquals(Status.Code.NOT_FOUND, assertThrows(StatusRuntimeException.class, () -> cri.runtime()
                .podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(podId).build()))
                .getStatus().getCode());
    }

    @Test
    void containerExitingByItselfReportsItsExitCode() {
        PodSandboxConfig pod = podConfig("exitcode");
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        String three = cri.runContainer(podId, pod, containerConfig("three", busybox(), "sh", "-c", "exit 3"));
        ContainerStatus s = cri.waitForState(three, ContainerState.CONTAINER_EXITED, WAIT);
        assertEquals(3, s.getExitCode());
        assertTrue(s.getFinishedAt() > 0, "finished_at is set");
        // A second one in the same pod, exiting 0: the code is the container's own, not a constant.
        String zero = cri.runContainer(podId, pod, containerConfig("zero", busybox(), "true"));
        assertEquals(0, cri.waitForState(zero, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
        assertEquals(3, cri.containerStatus(three).getExitCode(), "the first container's code is kept");
    }

    @Test
    void containerOutputReachesTheLogFileContainerdWrites() throws IOException {
        PodSandboxConfig pod = podConfig("logs");
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        String id = cri.runContainer(podId, pod, containerConfig("talker", busybox(),
                "sh", "-c", "for i in 1 2 3; do echo out-$i; done; echo err-1 >&2"));
        cri.waitForState(id, ContainerState.CONTAINER_EXITED, WAIT);

        Path expected = logRoot.resolve("logs").resolve("talker.log");
        assertEquals(expected.toString(), cri.containerStatus(id).getLogPath());
        // The exit can be seen a moment before containerd has copied the last bytes.
        cri.waitForLog(id, "err-1", WAIT);
        List<String> lines = Files.readAllLines(expected, StandardCharsets.UTF_8);
        for (String line : lines) {
            String[] f = line.split(" ", 4);
            assertEquals(4, f.length, "CRI log line '" + line + "'");
            OffsetDateTime.parse(f[0]); // RFC 3339 timestamp, or this throws
            assertTrue(Set.of("stdout", "stderr").contains(f[1]), "stream in '" + line + "'");
            assertEquals("F", f[2], "full-line tag in '" + line + "'");
        }
        List<String> stdout = lines.stream().filter(l -> l.split(" ", 4)[1].equals("stdout"))
                .map(l -> l.split(" ", 4)[3]).toList();
        List<String> stderr = lines.stream().filter(l -> l.split(" ", 4)[1].equals("stderr"))
                .map(l -> l.split(" ", 4)[3]).toList();
        assertEquals(List.of("out-1", "out-2", "out-3"), stdout);
        assertEquals(List.of("err-1"), stderr);
    }
}
