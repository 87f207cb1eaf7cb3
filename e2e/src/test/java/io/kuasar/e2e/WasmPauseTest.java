package io.kuasar.e2e;

import static io.kuasar.e2e.WasmPodTest.wasm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.StopContainerRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Pause and Resume (ctr: CRI has no call for them) of wasm containers: a WasmEdge process is frozen in its freezer
 * cgroup (an endless loop uses no CPU while paused, and goes on after); a module running inside the node cannot be
 * suspended, and its engine says so, the module running on.
 */
class WasmPauseTest extends RuncFeatureBase {

    @Test
    void aWasmEdgeContainerIsFrozenWhilePausedAndGoesOnWhenResumed() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/sys/fs/cgroup/freezer")), () -> "the wasmedge sandboxer pauses through "
                + "a v1 freezer hierarchy, which this host does not mount: " + CGROUPS.describe());
        String c = looping("kuasar-wasmedge", "w-pause");
        pausedUsesNoCpuAndResumedRunsAgain(c, Duration.ofMillis(500), Duration.ofMillis(300));

        ctr("tasks", "pause", c); // Stop of a paused container: the signal reaches it once thawed
        cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(c).setTimeout(10).build());
        assertEquals(143, cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
    }

    @ParameterizedTest
    @ValueSource(strings = {"kuasar-wasm", "kuasar-wasmtime"})
    void aModuleInsideTheNodeCannotBePausedAndSaysWhy(String handler) throws Exception {
        String c = looping(handler, "w-nopause");
        AssertionError refused = assertThrows(AssertionError.class, () -> ctr("tasks", "pause", c));
        assertTrue(refused.getMessage().contains("can be ended but not suspended"), refused.getMessage());
        assertEquals("RUNNING", taskStatus(c));
        long before = cpuNanos(c);
        Thread.sleep(300);
        assertTrue(cpuNanos(c) > before, "the module runs on");
    }

    private String looping(String handler, String podName) {
        PodSandboxConfig pod = podConfig(podName);
        String podId = runPod(pod, handler);
        String c = cri.runContainer(podId, pod, wasm("loop", "quiet", "loop"));
        cri.waitForState(c, ContainerState.CONTAINER_RUNNING, WAIT);
        cri.waitForLog(c, "looping", WAIT);
        return c;
    }
}
