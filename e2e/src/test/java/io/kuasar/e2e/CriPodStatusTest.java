package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerFilter;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStateValue;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.ListContainersRequest;
import io.kuasar.api.cri.v1.Mount;
import io.kuasar.api.cri.v1.PodSandboxState;
import io.kuasar.api.cri.v1.PodSandboxStatus;
import io.kuasar.api.cri.v1.PodSandboxStatusRequest;
import io.kuasar.api.cri.v1.RemovePodSandboxRequest;
import io.kuasar.api.cri.v1.StopContainerRequest;
import io.kuasar.api.cri.v1.StopPodSandboxRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * CRI's pod and container status (critest "PodSandbox", "Container"): states, metadata, timestamps, exit codes,
 * reasons; ListContainers filters; what stopping and removing a pod does to its containers.
 */
class CriPodStatusTest extends CriParityTestBase {

    @OnParityHandlers
    void podStatusReportsMetadataStateAddressHandlerAndCreationTime(String handler) {
        long before = nanos();
        Pod p = pod("status", handler);
        long after = nanos();
        PodSandboxStatus s = podStatus(p.id);
        assertEquals(p.id, s.getId());
        assertEquals(p.config.getMetadata(), s.getMetadata());
        assertEquals(PodSandboxState.SANDBOX_READY, s.getState());
        assertTrue(s.getCreatedAt() >= before && s.getCreatedAt() <= after,
                () -> "created_at " + s.getCreatedAt() + " not within [" + before + ", " + after + "]");
        assertTrue(s.getNetwork().getIp().matches("\\d+\\.\\d+\\.\\d+\\.\\d+"), () -> "pod ip '" + s.getNetwork().getIp() + "'");
        assertEquals(runTag, s.getLabelsMap().get(CriClient.RUN_LABEL));
        assertEquals(handler, s.getRuntimeHandler());
        assertEquals(CriClient.KUBELET_NAMESPACES, s.getLinux().getNamespaces().getOptions());

        cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(p.id).build());
        PodSandboxStatus stopped = podStatus(p.id);
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, stopped.getState());
        assertEquals(s.getCreatedAt(), stopped.getCreatedAt(), "created_at survives the stop");
        cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(p.id).build());
        forget(p.id);
        assertEquals(Status.Code.NOT_FOUND, failure(() -> podStatus(p.id)).getStatus().getCode());
    }

    @OnParityHandlers
    void containerStatusWalksCreatedRunningExitedWithTimestampsExitCodeAndReason(String handler) throws IOException {
        // The container exits when the test creates /ctl/go: no sleeping on either side of the check.
        Path ctl = hostDir("ctl");
        Pod p = pod("walk", handler);
        ContainerConfig config = container("walk", "sh", "-c", "while [ ! -e /ctl/go ]; do sleep 0.05; done; exit 3")
                .toBuilder().putLabels("tier", "test").putAnnotations("note", "kept")
                .addMounts(Mount.newBuilder().setHostPath(ctl.toString()).setContainerPath("/ctl")).build();
        long before = nanos();
        String id = cri.createContainer(p.id, p.config, config);
        ContainerStatus created = cri.containerStatus(id);
        assertEquals(ContainerState.CONTAINER_CREATED, created.getState());
        assertTrue(created.getCreatedAt() >= before, "created_at");
        assertEquals(0, created.getStartedAt());
        assertEquals(0, created.getFinishedAt());
        assertEquals("walk", created.getMetadata().getName());
        assertEquals("test", created.getLabelsMap().get("tier"));
        assertEquals("kept", created.getAnnotationsMap().get("note"));
        assertEquals(busybox(), created.getImage().getImage());
        assertFalse(created.getImageRef().isEmpty(), "image_ref");

        cri.startContainer(id);
        ContainerStatus running = cri.waitForState(id, ContainerState.CONTAINER_RUNNING, WAIT);
        assertTrue(running.getStartedAt() >= running.getCreatedAt(), "started_at >= created_at");
        assertEquals(0, running.getFinishedAt());

        Files.writeString(ctl.resolve("go"), "");
        ContainerStatus exited = cri.waitForState(id, ContainerState.CONTAINER_EXITED, WAIT);
        assertEquals(3, exited.getExitCode());
        assertEquals("Error", exited.getReason());
        assertEquals("", exited.getMessage(), "an ordinary exit carries no message");
        assertEquals(running.getStartedAt(), exited.getStartedAt());
        assertTrue(exited.getFinishedAt() >= exited.getStartedAt() && exited.getFinishedAt() <= nanos(), "finished_at");
    }

    @OnParityHandlers
    void containerExitingZeroIsReportedCompleted(String handler) {
        Pod p = pod("completed", handler);
        ContainerStatus s = p.exited(container("done", "true"));
        assertEquals(0, s.getExitCode());
        assertEquals("Completed", s.getReason());
    }

    @OnParityHandlers
    void stopContainerSendsTermSoAGracefulContainerEndsWithItsOwnCode(String handler) {
        Pod p = pod("graceful", handler);
        String id = p.running(container("graceful", "sh", "-c",
                "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 1 & wait; done"));
        cri.waitForLog(id, "ready", WAIT);
        cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(20).build());
        ContainerStatus s = cri.containerStatus(id);
        assertEquals(ContainerState.CONTAINER_EXITED, s.getState());
        assertEquals(42, s.getExitCode());
        assertEquals("Error", s.getReason());
        cri.waitForLog(id, "got-term", WAIT);
    }

    @OnParityHandlers
    void stopContainerKillsAContainerIgnoringTermAfterTheGracePeriod(String handler) {
        Pod p = pod("stubborn", handler);
        String id = p.running(container("stubborn", "sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"));
        cri.waitForLog(id, "ready", WAIT);
        cri.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(1).build());
        ContainerStatus s = cri.containerStatus(id);
        assertEquals(ContainerState.CONTAINER_EXITED, s.getState());
        assertEquals(137, s.getExitCode(), "128 + SIGKILL");
    }

    @OnParityHandlers
    void listContainersFiltersByPodStateAndLabel(String handler) {
        Pod p = pod("list", handler);
        String runner = p.running(sleeper("runner").toBuilder().putLabels("role", "runner").build());
        String done = cri.runContainer(p.id, p.config, container("done", "true"));
        cri.waitForState(done, ContainerState.CONTAINER_EXITED, WAIT);
        Pod other = pod("list-other", handler);
        other.running(sleeper("elsewhere"));

        assertEquals(java.util.Set.of(runner, done), ids(ContainerFilter.newBuilder().setPodSandboxId(p.id)));
        assertEquals(java.util.Set.of(runner), ids(ContainerFilter.newBuilder().setPodSandboxId(p.id)
                .setState(ContainerStateValue.newBuilder().setState(ContainerState.CONTAINER_RUNNING))));
        assertEquals(java.util.Set.of(done), ids(ContainerFilter.newBuilder().setPodSandboxId(p.id)
                .setState(ContainerStateValue.newBuilder().setState(ContainerState.CONTAINER_EXITED))));
        assertEquals(java.util.Set.of(runner), ids(ContainerFilter.newBuilder().putLabelSelector("role", "runner")
                .setPodSandboxId(p.id)));
    }

    @OnParityHandlers
    void stoppingThePodStopsItsContainersAndRemovingItRemovesThem(String handler) {
        Pod p = pod("stoppod", handler);
        String id = p.running(sleeper("sleeper"));
        cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(p.id).build());
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, podStatus(p.id).getState());
        ContainerStatus s = cri.containerStatus(id);
        assertEquals(ContainerState.CONTAINER_EXITED, s.getState());
        assertTrue(s.getFinishedAt() > 0, "finished_at of a container stopped with its pod");
        cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(p.id).build());
        forget(p.id);
        assertEquals(Status.Code.NOT_FOUND, failure(() -> cri.containerStatus(id)).getStatus().getCode());
    }

    private PodSandboxStatus podStatus(String podId) {
        return cri.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(podId).build())
                .getStatus();
    }

    private java.util.Set<String> ids(ContainerFilter.Builder filter) {
        return cri.runtime().listContainers(ListContainersRequest.newBuilder().setFilter(filter).build())
                .getContainersList().stream().map(io.kuasar.api.cri.v1.Container::getId)
                .collect(java.util.stream.Collectors.toSet());
    }

    private static long nanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }
}
