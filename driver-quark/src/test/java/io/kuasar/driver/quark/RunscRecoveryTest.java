package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kuasar.host.internal.KeeperExitRecords;
import io.kuasar.spi.ExitStatus;
import io.kuasar.driver.kit.testing.TempHostPaths;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real gVisor pod driven through the SPI without containerd: a driver instance that goes away leaves the
 * sandbox running, and the next one re-attaches from the persisted state, still sees the container running and
 * collects its exit code. Needs root, runsc and busybox (skipped otherwise).
 */
class RunscRecoveryTest {
    @TempDir
    Path tmp;

    @Test
    void aNewDriverInstanceReattachesAndCollectsTheExit() throws Exception {
        // The uid, not the user's name: root may be called otherwise, and another user may be called root.
        assumeTrue((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0, "needs root (uid 0)");
        Path runsc = onPath("runsc");
        assumeTrue(runsc != null, "needs runsc: not on PATH, nor in /usr/sbin, /sbin");
        assumeTrue(Files.isExecutable(Path.of("/bin/busybox")), "needs /bin/busybox (package busybox-static)");
        HostPaths paths = new TempHostPaths(tmp);
        List<TaskEvent> events = new CopyOnWriteArrayList<>();
        RunscSettings settings = new RunscSettings(runsc.toString(), null, "", "host", null, null,
                Files.createDirectories(tmp.resolve("log")), Duration.ofSeconds(2));
        Path bundle = tmp.resolve("bundle");
        Files.createDirectories(bundle.resolve("rootfs/bin"));
        Files.copy(Path.of("/bin/busybox"), bundle.resolve("rootfs/bin/busybox"));
        Files.writeString(tmp.resolve("bundle/config.json"), "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":"
                + "[\"/bin/busybox\",\"sh\",\"-c\",\"echo up; exec /bin/busybox sleep 300\"],\"cwd\":\"/\","
                + "\"env\":[\"PATH=/bin\"],\"user\":{\"uid\":0,\"gid\":0}},\"root\":{\"path\":\"rootfs\"},"
                + "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}]}}");
        Path out = tmp.resolve("out.log");
        Files.createFile(out);

        RunscDriver first = new RunscDriver(events::add, paths, new KeeperExitRecords((Path) null), settings, new Reaper());
        first.create(new SandboxSpec("rpod", "k8s.io", "", List.of(), null, null, Map.of(), Map.of()));
        long sandboxPid = first.start("rpod").pid();
        TaskService tasks = first.tasks("rpod");
        tasks.create(new TaskSpec("c1", tmp.resolve("bundle").toString(), List.of(),
                new Stdio("", out.toString(), out.toString(), false), "", "", null));
        tasks.start("c1", "");
        first.deactivate();
        assertTrue(ProcessHandle.of(sandboxPid).map(ProcessHandle::isAlive).orElse(false), "sandbox outlives the driver");

        RunscDriver second = new RunscDriver(events::add, paths, new KeeperExitRecords((Path) null), settings, new Reaper());
        try {
            List<SandboxStatus> recovered = List.copyOf(second.recover());
            assertEquals(1, recovered.size());
            assertEquals(SandboxStatus.State.READY, recovered.get(0).state());
            TaskService again = second.tasks("rpod");
            assertEquals(TaskState.Status.RUNNING, again.state("c1", "").status());
            again.kill("c1", "", 9, false);
            ExitStatus exit = again.waitFor("c1", "").toCompletableFuture().get(20, TimeUnit.SECONDS);
            assertEquals(137, exit.code(), "SIGKILL seen by the new instance");
            assertTrue(Files.readString(out).contains("up"), "container output went to its stdout file");
            again.delete("c1", "");
            second.stop("rpod", Duration.ofSeconds(1));
            second.shutdown("rpod");
            assertFalse(Files.exists(tmp.resolve("run/quark/runsc/pods/rpod")), "pod files removed");
            assertTrue(events.stream().anyMatch(e -> e instanceof TaskEvent.Exited x && x.exit().code() == 137));
        } finally {
            second.deactivate();
        }
    }

    /** The executable {@code name} on PATH, else in /usr/sbin or /sbin; null when there is none. */
    private static Path onPath(String name) {
        List<String> dirs = new java.util.ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/sbin"));
        return dirs.stream().filter(d -> !d.isEmpty()).map(d -> Path.of(d, name))
                .filter(p -> Files.isRegularFile(p) && Files.isExecutable(p)).findFirst().orElse(null);
    }
}
