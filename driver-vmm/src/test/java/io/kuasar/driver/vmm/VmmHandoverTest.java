package io.kuasar.driver.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kuasar.driver.kit.testing.TempHostPaths;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import io.kuasar.ttrpc.TtrpcEventLoops;
import io.netty.channel.EventLoopGroup;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real VM pod handed from one driver instance to the next on the same state dir ({@code release}, then
 * {@code adopt}), as an upgrade does: the VM keeps running, the successor serves its containers and reports their
 * exits (one after the handover, one between release and adopt), the leaving instance answers NOT_FOUND and reports
 * nothing, and its deactivation leaves the pod alone. Needs root, QEMU, busybox and the guest image (skipped
 * otherwise); one VM under TCG, about 10 s.
 */
@Timeout(240)
class VmmHandoverTest {
    private static final String QEMU = "qemu-system-x86_64";
    private static final int KILL = 9;
    private static final int TERM = 15;

    @TempDir
    Path tmp;

    @Test
    void theNextInstanceAdoptsARunningVmAndReportsItsExitsAndTheLeavingOneLetsGo() throws Exception {
        VmmSettings settings = settings();
        List<TaskEvent> leavingEvents = new CopyOnWriteArrayList<>();
        List<TaskEvent> nextEvents = new CopyOnWriteArrayList<>();
        TempHostPaths paths = new TempHostPaths(tmp);
        VmmDriver leaving = new VmmDriver(leavingEvents::add, paths, settings, new QemuVmm(QEMU));
        VmmDriver next = new VmmDriver(nextEvents::add, paths, settings, new QemuVmm(QEMU));
        long qemu = 0;
        boolean leavingDeactivated = false;
        try {
            leaving.create(new SandboxSpec("hpod", "k8s.io", "", List.of(), null, null, Map.of(), Map.of()));
            qemu = leaving.start("hpod").pid();
            TaskService tasks = leaving.tasks("hpod");
            Path out = tmp.resolve("c1.out");
            Files.createFile(out);
            // SIGTERM makes it say so and exit 5: its output after the handover goes through the next instance
            run(tasks, "c1", "echo before; trap 'echo after; exit 5' TERM; while :; do sleep 1; done",
                    new Stdio("", out.toString(), "", false));
            run(tasks, "c2", "exec sleep 300", new Stdio("", "", "", false));
            awaitContent(out, "before\n");

            leaving.release("hpod");
            assertEquals(SandboxException.Code.NOT_FOUND,
                    assertThrows(SandboxException.class, () -> leaving.status("hpod", false)).code());
            assertEquals(SandboxException.Code.NOT_FOUND,
                    assertThrows(SandboxException.class, () -> leaving.tasks("hpod")).code());
            int leavingSaw = leavingEvents.size();
            assertEquals(137, killBetweenReleaseAndAdopt(qemu, tmp.resolve("run/vmm/hpod"), "c2"));

            SandboxStatus adopted = next.adopt("hpod");
            assertEquals(SandboxStatus.State.READY, adopted.state());
            assertEquals(qemu, adopted.pid());
            TaskService nextTasks = next.tasks("hpod");
            assertEquals(TaskState.Status.RUNNING, nextTasks.state("c1", "").status());
            assertEquals(137, nextTasks.waitFor("c2", "").toCompletableFuture().get(60, TimeUnit.SECONDS).code(),
                    "the exit between release and adopt, reported by the next instance");

            leaving.deactivate();
            leavingDeactivated = true;
            assertTrue(ProcessHandle.of(qemu).map(ProcessHandle::isAlive).orElse(false), "the VM outlives the leaving"
                    + " instance's deactivation");
            assertEquals(TaskState.Status.RUNNING, nextTasks.state("c1", "").status());
            nextTasks.kill("c1", "", TERM, false);
            assertEquals(5, nextTasks.waitFor("c1", "").toCompletableFuture().get(60, TimeUnit.SECONDS).code());
            awaitContent(out, "before\nafter\n"); // each line once: the next instance went on from what was delivered
            assertEquals(List.of("c2:137", "c1:5"), exits(nextEvents));
            assertEquals(List.of(), exits(leavingEvents.subList(leavingSaw, leavingEvents.size())),
                    "the leaving instance reports nothing after the release");

            nextTasks.delete("c1", "");
            nextTasks.delete("c2", "");
            next.stop("hpod", Duration.ofSeconds(1));
            next.shutdown("hpod");
            assertTrue(ProcessHandle.of(qemu).map(h -> !h.isAlive()).orElse(true), "the VM ended at the shutdown");
        } finally {
            if (!leavingDeactivated) {
                leaving.deactivate();
            }
            next.deactivate();
            if (qemu > 0) {
                ProcessHandle.of(qemu).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /** Root, QEMU, busybox and the guest image (what scripts/images.d/vmm-guest.sh builds), else skipped. */
    private static VmmSettings settings() throws IOException {
        assumeTrue((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0, "needs root (uid 0)");
        boolean installed = false;
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            installed |= Files.isExecutable(Path.of(d, QEMU));
        }
        assumeTrue(installed, QEMU + " is not installed on this host (scripts/deps.d/vmm.sh installs it)");
        assumeTrue(Files.isExecutable(Path.of("/bin/busybox")), "needs /bin/busybox (package busybox-static)");
        String cache = System.getenv("KUASAR_CACHE");
        Path image = (cache == null || cache.isEmpty() ? Path.of("..", ".cache") : Path.of(cache)).resolve("vmm/guest");
        assumeTrue(Files.isRegularFile(image.resolve("vmlinuz")) && Files.isRegularFile(image.resolve("initrd.img")),
                "no guest image in " + image.toAbsolutePath() + " (scripts/build-images.sh makes it)");
        return new VmmSettings(QEMU, image, "tcg", 1, 1, 256, 64, 1024, Duration.ofSeconds(120),
                Duration.ofSeconds(2), false, false);
    }

    /** Creates and starts a busybox container running {@code script}. */
    private void run(TaskService tasks, String id, String script, Stdio stdio) throws Exception {
        Path bundle = Files.createDirectories(tmp.resolve("bundle-" + id));
        for (String dir : List.of("bin", "proc", "dev")) {
            Files.createDirectories(bundle.resolve("rootfs").resolve(dir));
        }
        Files.copy(Path.of("/bin/busybox"), bundle.resolve("rootfs/bin/busybox"));
        Files.writeString(bundle.resolve("config.json"), "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":"
                + "[\"/bin/busybox\",\"sh\",\"-c\",\"" + script.replace("\"", "\\\"") + "\"],\"cwd\":\"/\","
                + "\"env\":[\"PATH=/bin\"],\"user\":{\"uid\":0,\"gid\":0}},\"root\":{\"path\":\"rootfs\"},"
                + "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
                + "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}]," // device nodes: not on 9p
                + "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}]}}");
        for (String applet : List.of("sh", "sleep")) {
            Files.createSymbolicLink(bundle.resolve("rootfs/bin/" + applet), Path.of("busybox"));
        }
        tasks.create(new TaskSpec(id, bundle.toString(), List.of(), stdio, "", "", null));
        tasks.start(id, "");
    }

    /**
     * While no instance holds the pod, its container {@code id} is killed through a connection of the test's own
     * (closed again before the next instance connects); returns the exit code the agent gave.
     */
    private static long killBetweenReleaseAndAdopt(long qemu, Path podDir, String id) throws Exception {
        EventLoopGroup loop = TtrpcEventLoops.newGroup(1, "test-agent-client");
        try {
            AgentClient agent = AgentClient.connectReady(new Vmm.VmInstance(qemu, podDir.resolve("qmp.sock"),
                    podDir.resolve("agent.sock"), podDir.resolve("console.log")), Duration.ofSeconds(30),
                    Duration.ofSeconds(5), loop);
            try {
                agent.signal(id, "", KILL, false);
                return agent.waitFor(id, "").get(30, TimeUnit.SECONDS).getExitStatus();
            } finally {
                agent.closeAndWait();
            }
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private static void awaitContent(Path file, String expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(file).equals(expected) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(expected, Files.readString(file));
    }

    private static List<String> exits(List<TaskEvent> events) {
        return events.stream().filter(e -> e instanceof TaskEvent.Exited).map(e -> (TaskEvent.Exited) e)
                .map(e -> e.containerId() + ":" + e.exit().code()).toList();
    }
}
