package io.kuasar.driver.runc;

import io.kuasar.driver.kit.HostFiles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.spi.ExecSpec;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * The driver against real runc, as root: a pod sharing net/ipc/uts/pid without a pause container, containers on an
 * overlay rootfs made of busybox, stdio through FIFOs, exec, kill, a driver restart in the same JVM, stop and
 * shutdown leaving nothing behind. Needs the packages runc and busybox-static.
 */
@EnabledIf(value = "io.kuasar.driver.runc.RuncTestBed#possible", disabledReason = RuncTestBed.NEEDS)
class RuncIntegrationTest {
    private static final long JVM = RuncTestBed.JVM;
    private final ObjectMapper json = new ObjectMapper();
    private final List<TaskEvent> events = new CopyOnWriteArrayList<>();
    private RuncTestBed bed;
    private Path tmp;
    private Path netns;
    private HostPaths paths;
    /** The live driver, shut down by tearDown if the test failed half-way. */
    private RuncDriver live;

    @BeforeEach
    void setUp() throws Exception {
        bed = new RuncTestBed();
        tmp = bed.tmp;
        netns = bed.netns;
        paths = bed.paths;
    }

    @AfterEach
    void tearDown() throws Exception {
        if (live != null) {
            try {
                live.shutdown("pod1");
            } catch (SandboxException e) {
                // not created, or already gone
            }
            live.close();
        }
        bed.close();
    }

    @Test
    void podWithoutPause() throws Exception {
        RuncDriver first = new RuncDriver(events::add, paths, RuncTestBed.NO_KEEPER, RuncTestBed.settings());
        live = first;
        first.create(bed.pod("pod1", "uid-1"));
        SandboxStarted started = first.start("pod1");
        assertEquals(JVM, started.pid(), "the sandbox is served by this process");
        assertEquals("", started.taskAddress());
        TaskService tasks1 = first.tasks("pod1");

        // c1: prints the pod hostname (pinned UTS namespace) to a FIFO, then sleeps.
        Path out1 = bed.fifo("c1.out");
        CompletableFuture<String> read1 = RuncTestBed.readFifo(out1);
        long t0 = System.nanoTime();
        long pid1 = tasks1.create(bed.task("c1", Stdio.NONE.stdin(), "file://" + out1,
                "echo hello-$(hostname) pid=$$; exec sleep 1000"));
        assertEquals(TaskState.Status.CREATED, tasks1.state("c1", "").status());
        assertEquals(pid1, tasks1.start("c1", ""));
        System.out.printf("create+start of c1: %.1f ms%n", (System.nanoTime() - t0) / 1e6);
        assertEquals(TaskState.Status.RUNNING, tasks1.state("c1", "").status());
        assertTrue(HostFiles.isMountPoint(bed.bundle("c1").resolve("rootfs")), "overlay rootfs mounted");
        String spec = Files.readString(bed.bundle("c1").resolve("config.json"));
        assertFalse(spec.contains("/proc/" + JVM + "/"), "no namespace of the host left in " + spec);
        assertTrue(spec.contains(netns.toString()));
        assertTrue(tasks1.pids("c1").stream().anyMatch(p -> p.pid() == pid1));
        assertTrue(sameNs(pid1, "net", netns), "c1 is in the pod's netns");

        // The driver bundle restarts inside the same JVM: the new instance re-attaches to c1.
        first.close();
        RuncDriver driver = new RuncDriver(events::add, paths, RuncTestBed.NO_KEEPER, RuncTestBed.settings());
        live = driver;
        assertEquals(1, driver.recover().size());
        TaskService tasks = driver.tasks("pod1");
        assertEquals(TaskState.Status.RUNNING, tasks.state("c1", "").status());

        // exec: prints to its own FIFO and exits 0; it sees the same hostname and PID namespace.
        Path outE = bed.fifo("e1.out");
        CompletableFuture<String> readE = RuncTestBed.readFifo(outE);
        tasks.exec(new ExecSpec("c1", "e1", new Stdio("", outE.toString(), "", false), bed.processJson(
                "echo exec-out $(hostname); cat /proc/1/cmdline")));
        tasks.start("c1", "e1");
        assertEquals(0, tasks.waitFor("c1", "e1").toCompletableFuture().get(10, TimeUnit.SECONDS).code());
        String execOut = readE.get(10, TimeUnit.SECONDS);
        assertTrue(execOut.startsWith("exec-out kuasar-pod"), execOut);
        assertTrue(execOut.contains("/bin/sh"), "pid 1 of the pod's PID namespace is the holder: " + execOut);
        assertEquals(0, tasks.delete("c1", "e1").code());
        assertThrows(SandboxException.class, () -> tasks.state("c1", "e1"));

        // kill → 137
        tasks.kill("c1", "", 9, false);
        assertEquals(137, tasks.waitFor("c1", "").toCompletableFuture().get(10, TimeUnit.SECONDS).code());
        String hello = read1.get(10, TimeUnit.SECONDS);
        assertTrue(hello.startsWith("hello-kuasar-pod pid="), hello);
        assertEquals(137, tasks.delete("c1", "").code());
        assertFalse(HostFiles.isMountPoint(bed.bundle("c1").resolve("rootfs")), "rootfs unmounted at delete");
        assertEquals(SandboxException.Code.NOT_FOUND,
                assertThrows(SandboxException.class, () -> tasks.state("c1", "")).code());

        // c2 exits by itself with 3; c3 keeps running until Stop.
        tasks.create(bed.task("c2", "", "", "exit 3"));
        tasks.start("c2", "");
        assertEquals(3, tasks.waitFor("c2", "").toCompletableFuture().get(10, TimeUnit.SECONDS).code());
        tasks.create(bed.task("c3", "", "", "exec sleep 1000"));
        tasks.start("c3", "");
        driver.stop("pod1", Duration.ofSeconds(5));
        assertEquals(143, tasks.waitFor("c3", "").toCompletableFuture().get(1, TimeUnit.SECONDS).code(),
                "SIGTERM ends sleep (not pid 1: the pod shares its PID namespace)");
        assertTrue(driver.exit("pod1").toCompletableFuture().isDone());

        assertEventOrder("c1", TaskEvent.Created.class, TaskEvent.Started.class, TaskEvent.ExecAdded.class,
                TaskEvent.ExecStarted.class, TaskEvent.Exited.class, TaskEvent.Deleted.class,
                TaskEvent.Exited.class, TaskEvent.Deleted.class);
        assertEventOrder("c2", TaskEvent.Created.class, TaskEvent.Started.class, TaskEvent.Exited.class);

        driver.shutdown("pod1");
        driver.shutdown("pod1"); // idempotent
        driver.close();

        List<String> mounts = HostFiles.mountPointsUnder(tmp);
        assertEquals(List.of(netns.getParent().toString(), netns.toString()), mounts, "only the test's own netns");
        Path run = paths.runDir("runc");
        assertEquals(List.of(), RuncTestBed.listTree(run.resolve("runc")), "no runc state");
        assertEquals(List.of(), RuncTestBed.listTree(run.resolve("ns")), "no pinned namespaces");
        assertEquals(List.of(), RuncTestBed.listTree(run.resolve("tasks")), "no work files");
        assertEquals(List.of(), RuncTestBed.listTree(run.resolve("log")), "no runc logs");
        assertEquals(List.of(), RuncTestBed.listTree(paths.stateDir("runc")), "no state file");
        // runc made each container's cgroup in every hierarchy it uses; none may be left in any of them.
        List<Path> hierarchies = cgroupHierarchies();
        assertFalse(hierarchies.isEmpty(), "no cgroup hierarchy in /proc/self/mountinfo to look for leftovers in");
        for (Path h : hierarchies) {
            assertTrue(Files.isDirectory(h), () -> "cgroup hierarchy " + h + " from mountinfo");
            for (String c : List.of("c1", "c2", "c3")) {
                assertFalse(Files.exists(h.resolve("kuasar-it-" + c)), "cgroup of " + c + " removed from " + h);
            }
        }
    }

    /**
     * What the keeper's replay after a host crash asks of the driver: Create, Start and Exec sent again answer as
     * the first time; and a container whose Create was cut short by the crash (recorded without a pid) is removed
     * by the next JVM's recovery, so the replayed Create makes it afresh.
     */
    @Test
    void replayedRequestsAreIdempotentAndAHalfCreatedContainerIsCleanedUpOnRecovery() throws Exception {
        RuncDriver first = new RuncDriver(events::add, paths, RuncTestBed.NO_KEEPER, RuncTestBed.settings());
        live = first;
        first.create(bed.pod("pod1", "uid-2"));
        first.start("pod1");
        TaskService tasks = first.tasks("pod1");
        TaskSpec c1 = bed.task("c1", "", "", "exec sleep 1000");
        long pid1 = tasks.create(c1);
        assertEquals(pid1, tasks.create(c1), "a replayed Create answers the container's pid");
        assertEquals(pid1, tasks.start("c1", ""));
        assertEquals(pid1, tasks.start("c1", ""), "a replayed Start answers the same pid");
        ExecSpec e1 = new ExecSpec("c1", "e1", Stdio.NONE, bed.processJson("sleep 1000"));
        tasks.exec(e1);
        tasks.exec(e1); // replayed: same spec, accepted
        assertEquals(SandboxException.Code.ALREADY_EXISTS, assertThrows(SandboxException.class,
                () -> tasks.exec(new ExecSpec("c1", "e1", Stdio.NONE, bed.processJson("true")))).code());
        long execPid = tasks.start("c1", "e1");
        assertEquals(execPid, tasks.start("c1", "e1"));
        assertEquals(1, events.stream().filter(e -> e instanceof TaskEvent.Created).count(), "one Created event");

        // c2 is made, then its record is turned into what a crash inside Create leaves: no pid yet.
        TaskSpec c2 = bed.task("c2", "", "", "exec sleep 1000");
        tasks.create(c2);
        Path stateFile = paths.stateDir("runc").resolve("pod1.json");
        ObjectNode state = (ObjectNode) json.readTree(stateFile.toFile());
        for (var c : state.get("containers")) {
            if (c.get("id").asText().equals("c2")) {
                ((ObjectNode) c.get("init")).put("pid", 0).put("startTime", 0).put("status", "CREATED");
            }
        }
        Files.write(stateFile, json.writeValueAsBytes(state));
        first.close();

        Files.delete(paths.runDir("runc").resolve(RuncDriver.JVM_MARK)); // the next instance is as if in a new JVM
        RuncDriver second = new RuncDriver(events::add, paths, RuncTestBed.NO_KEEPER, RuncTestBed.settings());
        live = second;
        assertEquals(1, second.recover().size());
        TaskService again = second.tasks("pod1");
        assertEquals(TaskState.Status.RUNNING, again.state("c1", "").status());
        assertEquals(SandboxException.Code.NOT_FOUND,
                assertThrows(SandboxException.class, () -> again.state("c2", "")).code());
        assertFalse(Files.exists(paths.runDir("runc").resolve("runc/c2")), "no runc state of c2 left");
        assertFalse(HostFiles.isMountPoint(bed.bundle("c2").resolve("rootfs")), "c2's rootfs unmounted");
        long pid2 = again.create(c2); // the replayed Create
        assertEquals(pid2, again.start("c2", ""));
        assertEquals(TaskState.Status.RUNNING, again.state("c2", "").status());
        assertEquals(pid1, again.create(c1), "a replay reaching the new JVM answers the same pid too");

        second.stop("pod1", Duration.ofSeconds(2));
        second.shutdown("pod1");
        assertEquals(List.of(), RuncTestBed.listTree(paths.runDir("runc").resolve("runc")), "no runc state");
    }

    // --- helpers -------------------------------------------------------------------------------------------

    /** Mount points of every cgroup hierarchy (v1 and cgroup2) showing its root, from this process's mountinfo. */
    private static List<Path> cgroupHierarchies() throws IOException {
        List<Path> out = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (dash > 4 && dash + 1 < f.length && f[3].equals("/")
                    && (f[dash + 1].equals("cgroup") || f[dash + 1].equals("cgroup2"))) {
                out.add(Path.of(f[4]));
            }
        }
        return out;
    }

    private static boolean sameNs(long pid, String type, Path pinned) throws IOException {
        Object a = Files.readAttributes(Path.of("/proc/" + pid + "/ns/" + type),
                java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        Object b = Files.readAttributes(pinned, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        return a.equals(b);
    }

    private void assertEventOrder(String container, Class<?>... expected) {
        List<Class<?>> seen = events.stream().filter(e -> e.containerId().equals(container))
                .<Class<?>>map(Object::getClass).toList();
        assertEquals(List.of(expected), seen, "events of " + container + ": " + events);
    }
}
