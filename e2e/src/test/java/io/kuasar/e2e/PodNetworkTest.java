package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import org.junit.jupiter.api.Test;

/** Containers of one Kuasar pod share its network namespace, and only theirs. */
class PodNetworkTest extends CriTestBase {
    /** Serves a page on the pod's loopback only: reachable solely from inside the same network namespace. */
    private static final String SERVER = "mkdir -p /www && echo pong-from-server > /www/index.html"
            + " && exec httpd -f -v -p 127.0.0.1:8080 -h /www";
    /** Retries while the server starts; exits 0 once it got the page. (No -T: busybox 1.35's wget crashes with it.) */
    private static final String CLIENT = "for i in $(seq 100); do"
            + " if wget -q -O - http://127.0.0.1:8080/; then exit 0; fi; sleep 0.2; done; echo gave-up; exit 1";

    @Test
    void containersOfOnePodReachEachOtherOnLocalhost() {
        PodSandboxConfig pod = podConfig("net");
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        String server = cri.runContainer(podId, pod, containerConfig("server", busybox(), "sh", "-c", SERVER));
        cri.waitForState(server, ContainerState.CONTAINER_RUNNING, WAIT);

        String client = cri.runContainer(podId, pod, containerConfig("client", busybox(), "sh", "-c", CLIENT));
        ContainerStatus done = cri.waitForState(client, ContainerState.CONTAINER_EXITED, WAIT);
        String log = cri.waitForLog(client, "\n", WAIT);
        assertEquals(0, done.getExitCode(), () -> "client log: " + log);
        assertTrue(log.contains("pong-from-server"), () -> "client log: " + log);
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(server).getState(), "server still serves");

        // Control: the same client in another pod must not reach it (each pod has its own loopback).
        PodSandboxConfig other = podConfig("net-other");
        String otherId = runPod(other, NodeEnv.KUASAR_HANDLER);
        String outsider = cri.runContainer(otherId, other, containerConfig("outsider", busybox(),
                "sh", "-c", "wget -q -O - http://127.0.0.1:8080/"));
        ContainerStatus refused = cri.waitForState(outsider, ContainerState.CONTAINER_EXITED, WAIT);
        assertNotEquals(0, refused.getExitCode(), "another pod reached this pod's loopback");
        assertFalse(CriClient.readLog(java.nio.file.Path.of(refused.getLogPath())).contains("pong-from-server"));
    }
}
