package io.kuasar.e2e;

import static io.kuasar.e2e.WasmPodTest.wasm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.LinuxContainerResources;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.UpdateContainerResourcesRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * UpdateContainerResources on wasm containers: a WasmEdge process's memory limit moves in its cgroup while it runs;
 * an in-node engine fixed the module's memory cap when it started it, and refuses saying so.
 */
class WasmUpdateResourcesTest extends RuncFeatureBase {
    private static final long MIB = 1024 * 1024;

    @Test
    void aWasmEdgeContainersMemoryLimitChangesWhileItRuns() throws Exception {
        assumeTrue(!CGROUPS.isV2(), () -> "the wasmedge sandboxer limits memory through v1 cgroup files, and this "
                + "host has cgroup v2 only: " + CGROUPS.describe());
        String c = sleeping("kuasar-wasmedge", "w-update", 128 * MIB);
        Path memory = cgroupDir("memory", c);
        assertEquals(128 * MIB, Long.parseLong(Files.readString(memory.resolve("memory.limit_in_bytes")).trim()));
        update(c, 96 * MIB);
        assertEquals(96 * MIB, Long.parseLong(Files.readString(memory.resolve("memory.limit_in_bytes")).trim()));
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(c).getState());
    }

    @ParameterizedTest
    @ValueSource(strings = {"kuasar-wasm", "kuasar-wasmtime"})
    void anInNodeEngineRefusesANewMemoryLimitSayingWhy(String handler) {
        String c = sleeping(handler, "w-noupdate", 64 * MIB);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> update(c, 32 * MIB));
        assertTrue(String.valueOf(e.getStatus().getDescription()).contains("fixed the module's memory cap"),
                e::toString);
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(c).getState(), "it runs on");
    }

    private String sleeping(String handler, String podName, long limit) {
        PodSandboxConfig pod = podConfig(podName);
        String podId = runPod(pod, handler);
        ContainerConfig.Builder config = wasm("sleeper", "sleep", "3600").toBuilder();
        config.getLinuxBuilder().setResources(LinuxContainerResources.newBuilder().setMemoryLimitInBytes(limit));
        String c = cri.runContainer(podId, pod, config.build());
        cri.waitForState(c, ContainerState.CONTAINER_RUNNING, WAIT);
        return c;
    }

    private void update(String c, long limit) {
        cri.runtime().updateContainerResources(UpdateContainerResourcesRequest.newBuilder().setContainerId(c)
                .setLinux(LinuxContainerResources.newBuilder().setMemoryLimitInBytes(limit)).build());
    }
}
