package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerMetadata;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.Mount;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * How the kubelet sequences containers in one pod (critest "Container restart", init containers): init containers
 * run to completion one after another before the app container starts, and a container that exited is replaced
 * by a new one with the same name and attempt + 1, in the same pod (same network namespace), next to the old one.
 */
class CriInitAndRestartTest extends CriParityTestBase {

    @OnParityHandlers
    void initContainersRunOneAfterAnotherBeforeTheAppContainer(String handler) {
        Path work = hostDir("work");
        Pod p = pod("init", handler);
        ContainerStatus first = p.exited(withWork(container("init-1", "sh", "-c", "echo init-1 >> /work/order"), work));
        ContainerStatus second = p.exited(withWork(container("init-2", "sh", "-c",
                "test \"$(cat /work/order)\" = init-1 && echo init-2 >> /work/order"), work));
        assertEquals(0, first.getExitCode());
        assertEquals(0, second.getExitCode(), "init-2 saw init-1's work done");
        String app = p.running(withWork(sleeper("app"), work));
        assertEquals("init-1\ninit-2\n", sh(app, "cat /work/order"));

        ContainerStatus appStatus = cri.containerStatus(app);
        assertTrue(first.getFinishedAt() <= second.getStartedAt() && second.getFinishedAt() <= appStatus.getStartedAt(),
                () -> "init-1 finished " + first.getFinishedAt() + ", init-2 ran " + second.getStartedAt() + ".."
                        + second.getFinishedAt() + ", app started " + appStatus.getStartedAt());
        // The finished init containers stay listed, exited with code 0, beside the running app.
        Map<String, ContainerState> states = containersOf(p.id).stream().collect(Collectors.toMap(
                c -> c.getMetadata().getName(), io.kuasar.api.cri.v1.Container::getState));
        assertEquals(Map.of("init-1", ContainerState.CONTAINER_EXITED, "init-2", ContainerState.CONTAINER_EXITED,
                "app", ContainerState.CONTAINER_RUNNING), states);
    }

    @OnParityHandlers
    void exitedContainerIsRestartedInThePodAsAttemptOneWithAFreshProcessAndLog(String handler) {
        Pod p = pod("restart", handler);
        ContainerConfig attempt0 = attempt(container("app", "sh", "-c", "echo run-0 $(readlink /proc/self/ns/net); exit 1"), 0);
        String id0 = cri.runContainer(p.id, p.config, attempt0);
        ContainerStatus exited = cri.waitForState(id0, ContainerState.CONTAINER_EXITED, WAIT);
        assertEquals(1, exited.getExitCode());
        String log0 = cri.waitForLog(id0, "run-0", WAIT);

        ContainerConfig attempt1 = attempt(container("app", "sh", "-c",
                "echo run-1 $(readlink /proc/self/ns/net); exec sleep 3600"), 1);
        String id1 = cri.runContainer(p.id, p.config, attempt1);
        ContainerStatus running = cri.waitForState(id1, ContainerState.CONTAINER_RUNNING, WAIT);
        assertNotEquals(id0, id1);
        assertEquals(1, running.getMetadata().getAttempt());
        assertEquals("app", running.getMetadata().getName());
        String log1 = cri.waitForLog(id1, "run-1", WAIT);
        assertNotEquals(exited.getLogPath(), running.getLogPath(), "each attempt logs to its own file");
        assertTrue(!log1.contains("run-0") && !log0.contains("run-1"), () -> "logs mixed: '" + log0 + "' / '" + log1 + "'");
        // Same pod: same network namespace for both attempts.
        assertEquals(log0.strip().substring("run-0 ".length()), log1.strip().substring("run-1 ".length()));
        assertEquals(1, cri.containerStatus(id0).getExitCode(), "the old attempt keeps its status");
        assertEquals(2, containersOf(p.id).size(), "both attempts are listed");
    }

    @OnParityHandlers
    void sameNameAndAttemptTwiceInOnePodIsRefused(String handler) {
        Pod p = pod("dupname", handler);
        cri.createContainer(p.id, p.config, attempt(sleeper("twin"), 0));
        StatusRuntimeException e = failure(() -> cri.createContainer(p.id, p.config, attempt(sleeper("twin"), 0)));
        assertTrue(e.getMessage().contains("reserved"), e.getMessage());
    }

    /** The kubelet's naming: metadata attempt N, log file NAME/N.log in the pod's log directory. */
    private static ContainerConfig attempt(ContainerConfig c, int attempt) {
        return c.toBuilder().setMetadata(ContainerMetadata.newBuilder().setName(c.getMetadata().getName())
                .setAttempt(attempt)).setLogPath(c.getMetadata().getName() + "/" + attempt + ".log").build();
    }

    private static ContainerConfig withWork(ContainerConfig c, Path work) {
        return c.toBuilder().addMounts(Mount.newBuilder().setHostPath(work.toString()).setContainerPath("/work")).build();
    }
}
