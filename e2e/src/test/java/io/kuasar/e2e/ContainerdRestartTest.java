package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.PodSandboxState;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * containerd itself restarted (as when it is upgraded) with pods running, for the stock {@code runc} handler and
 * ours alike: containerd is down for a few seconds, a container exits meanwhile; afterwards the sleeper is RUNNING
 * with the same process and answers exec, the pod is READY and takes a new container, and removing the pod leaves
 * nothing (checked by the base class's cleanup).
 *
 * <p>The container that exited while containerd was down: containerd 2.1, loading its tasks again, deletes as
 * "leaked" every task whose Pids list is empty and so drops its exit status; CRI then reports 255. The stock runc
 * shim has no pids for a stopped container, so stock loses the code (asserted, to notice when containerd changes);
 * our runc driver lists the exited init until the task is deleted, so CRI asks for the state and reports 6.
 */
class ContainerdRestartTest extends CriTestBase {
    private static final int SECONDS_DOWN = 4;

    @ParameterizedTest
    @ValueSource(strings = {NodeEnv.STOCK_HANDLER, NodeEnv.KUASAR_HANDLER})
    void podsAndExitStatusesSurviveARestartOfContainerd(String handler) throws Exception {
        PodSandboxConfig pod = podConfig("ctrd-restart");
        String podId = runPod(pod, handler);
        String sleeper = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(sleeper, ContainerState.CONTAINER_RUNNING, WAIT);
        long pid = initPid(sleeper);
        // Exits two seconds into containerd's absence.
        String six = cri.runContainer(podId, pod, containerConfig("six", busybox(), "sh", "-c", "sleep 2; exit 6"));
        cri.waitForState(six, ContainerState.CONTAINER_RUNNING, WAIT);

        restartContainerd();

        ContainerStatus s = cri.containerStatus(sleeper);
        assertEquals(ContainerState.CONTAINER_RUNNING, s.getState(), () -> handler + ": " + s);
        assertEquals(pid, initPid(sleeper), "same process");
        ExecSyncResponse r = execSync(sleeper, "echo", "after-restart");
        assertEquals(0, r.getExitCode(), () -> r.getStderr().toStringUtf8());
        assertEquals("after-restart\n", r.getStdout().toStringUtf8());
        ContainerStatus exited = cri.waitForState(six, ContainerState.CONTAINER_EXITED, WAIT);
        int expected = handler.equals(NodeEnv.STOCK_HANDLER) ? 255 : 6;
        assertEquals(expected, exited.getExitCode(), () -> handler + ": " + exited);
        assertTrue(exited.getFinishedAt() > exited.getStartedAt(), () -> handler + ": " + exited);
        assertEquals(PodSandboxState.SANDBOX_READY, podState(podId), handler);

        String three = cri.runContainer(podId, pod, containerConfig("three", busybox(), "sh", "-c", "exit 3"));
        assertEquals(3, cri.waitForState(three, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
    }

    private void restartContainerd() throws Exception {
        Path out = Files.createTempFile(logRoot, "restart", ".out");
        ProcessBuilder pb = new ProcessBuilder("bash", env.script("containerd-restart.sh").toString(),
                Integer.toString(SECONDS_DOWN)).redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("KUASAR_REPO", env.repo().toString());
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "containerd-restart.sh did not finish");
        assertEquals(0, p.exitValue(), () -> "containerd-restart.sh: " + read(out));
        awaitCri();
    }

    /**
     * containerd answers (ctr version) before its CRI plugin has loaded its pods back; until then every CRI call is
     * UNAVAILABLE "server is not initialized yet". Waits for CRI's Status to answer, up to a minute.
     */
    private void awaitCri() throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                cri.runtime().status(io.kuasar.api.cri.v1.StatusRequest.getDefaultInstance());
                System.out.printf("ContainerdRestartTest: CRI answered %d ms after containerd did%n",
                        (System.nanoTime() - start) / 1_000_000);
                return;
            } catch (io.grpc.StatusRuntimeException e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("CRI not initialized 60 s after containerd's restart", e);
                }
                Thread.sleep(100);
            }
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
