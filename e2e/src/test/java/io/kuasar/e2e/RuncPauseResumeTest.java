package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kuasar.api.cri.v1.ContainerState;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Pause and resume through containerd's task service (CRI has no call for them; {@code ctr tasks pause} is what
 * reaches the runtime): the freezer cgroup (v2: the cgroup's frozen state) freezes and thaws, the task reads PAUSED
 * then RUNNING, and the container works again afterwards.
 */
class RuncPauseResumeTest extends RuncFeatureBase {

    @ParameterizedTest(name = "{0}")
    @MethodSource("handlers")
    void pauseFreezesTheContainerAndResumeThawsIt(String handler) throws Exception {
        Started s = start(handler, "pause", containerConfig("sleeper", busybox(), "sleep", "3600"));
        Path freezer = cgroupDir("freezer", s.containerId());
        assertEquals("THAWED", freezerState(freezer));

        ctr("tasks", "pause", s.containerId());
        assertEquals("FROZEN", freezerState(freezer));
        assertEquals("PAUSED", taskStatus(s.containerId()));

        ctr("tasks", "resume", s.containerId());
        assertEquals("THAWED", freezerState(freezer));
        assertEquals("RUNNING", taskStatus(s.containerId()));
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(s.containerId()).getState());
        assertEquals(0, execSync(s.containerId(), "true").getExitCode());
    }

    /** v1 freezer.state; on v2 the kernel's "frozen" of cgroup.events (what is, not what was asked) in v1 words. */
    private static String freezerState(Path dir) throws java.io.IOException {
        if (CGROUPS.isV2()) {
            return keyed(dir.resolve("cgroup.events"), "frozen").equals("1") ? "FROZEN" : "THAWED";
        }
        return read(dir.resolve("freezer.state"));
    }
}
