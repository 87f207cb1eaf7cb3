package io.kuasar.driver.runc;

import io.kuasar.driver.kit.HostFiles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.driver.kit.Commands;
import io.kuasar.driver.runc.process.Mounts;
import io.kuasar.host.internal.KeeperExitRecords;
import io.kuasar.spi.ExecSpec;
import io.kuasar.driver.kit.testing.TempHostPaths;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.Mount;
import io.kuasar.spi.OrphanExits;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import io.kuasar.spi.TypedData;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
@EnabledIf(value = "possible", disabledReason = "needs root (uid 0), runc on PATH or in /usr/sbin, /sbin, and"
        + " /bin/busybox (packages runc, busybox-static)")
class RuncIntegrationTest {
    private static final Path BUSYBOX = Path.of("/bin/busybox");
    /** The runc this test and its drivers run: the packaged one, else the first on PATH, /usr/sbin or /sbin. */
    private static final Path RUNC = findRunc();
    private static final long JVM = ProcessHandle.current().pid();
    private final ObjectMapper json = new ObjectMapper();
    private final List<TaskEvent> events = new CopyOnWriteArrayList<>();
    private Path tmp;
    private Path netns;
    private HostPaths paths;
    /** The live driver, shut down by tearDown if the test failed half-way. */
    private RuncDriver live;

    static boolean possible() throws IOException {
        // The uid, not the user's name: root may be called otherwise, and another user may be called root.
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0 && RUNC != null
                && Files.isExecutable(BUSYBOX);
    }

    private static Path findRunc() {
        Path packaged = Path.of(RuncSettings.defaultBinary());
        if (packaged.isAbsolute() && Files.isExecutable(packaged)) {
            return packaged;
        }
        List<String> dirs = new java.util.ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/sbin"));
        return dirs.stream().filter(d -> !d.isEmpty()).map(d -> Path.of(d, "runc"))
                .filter(p -> Files.isRegularFile(p) && Files.isExecutable(p)).findFirst().orElse(null);
    }

    /** These tests run the driver in their own JVM, under no keeper. */
    private static final OrphanExits NO_KEEPER = new KeeperExitRecords((Path) null);

    private static RuncSettings settings() {
        return new RuncSettings(RUNC.toString(), Duration.ofSeconds(2));
    }

    @BeforeEach
    void setUp() throws Exception {
        tmp = Files.createTempDirectory("kuasar-runc-it");
        Path image = Files.createDirectories(tmp.resolve("image/bin"));
        Files.copy(BUSYBOX, image.resolve("busybox"));
        for (String applet : List.of("sh", "sleep", "hostname", "cat", "echo")) {
            Files.createSymbolicLink(image.resolve(applet), Path.of("busybox"));
        }
        // The pod network namespace, pinned the way CNI tooling does (CRI passes its path).
        Path nsDir = Files.createDirectories(tmp.resolve("netns"));
        Commands.run(List.of("mount", "--bind", nsDir.toString(), nsDir.toString()), 10);
        Commands.run(List.of("mount", "--make-private", nsDir.toString()), 10);
        netns = Files.createFile(nsDir.resolve("cni-test"));
        Commands.run(List.of("unshare", "--net=" + netns, "true"), 10);
        paths = new TempHostPaths(tmp);
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
        Mounts.unmountAll(netns);
        Mounts.unmountAll(netns.getParent());
        HostFiles.deleteTree(tmp);
    }

    @Test
    void podWithoutPause() throws Exception {
        RuncDriver first = new RuncDriver(events::add, paths, NO_KEEPER, settings());
        live = first;
        PodConfig pod = new PodConfig("web", "default", "uid-1", "kuasar-pod", "", PodConfig.NamespaceMode.POD,
                PodConfig.NamespaceMode.POD, PodConfig.NamespaceMode.POD, "", Map.of(), List.of(), List.of(), List.of());
        first.create(new SandboxSpec("pod1", "k8s.io", netns.toString(), List.of(), pod, TypedData.EMPTY, Map.of(),
                Map.of()));
        SandboxStarted started = first.start("pod1");
        assertEquals(JVM, started.pid(), "the sandbox is served by this process");
        assertEquals("", started.taskAddress());
        TaskService tasks1 = first.tasks("pod1");

        // c1: prints the pod hostname (pinned UTS namespace) to a FIFO, then sleeps.
        Path out1 = fifo("c1.out");
        CompletableFuture<String> read1 = readFifo(out1);
        long t0 = System.nanoTime();
        long pid1 = tasks1.create(task("c1", Stdio.NONE.stdin(), "file://" + out1,
                "echo hello-$(hostname) pid=$$; exec sleep 1000"));
        assertEquals(TaskState.Status.CREATED, tasks1.state("c1", "").status());
        assertEquals(pid1, tasks1.start("c1", ""));
        System.out.printf("create+start of c1: %.1f ms%n", (System.nanoTime() - t0) / 1e6);
        assertEquals(TaskState.Status.RUNNING, tasks1.state("c1", "").status());
        assertTrue(HostFiles.isMountPoint(bundle("c1").resolve("rootfs")), "overlay rootfs mounted");
        String spec = Files.readString(bundle("c1").resolve("config.json"));
        assertFalse(spec.contains("/proc/" + JVM + "/"), "no namespace of the host left in " + spec);
        assertTrue(spec.contains(netns.toString()));
        assertTrue(tasks1.pids("c1").stream().anyMatch(p -> p.pid() == pid1));
        assertTrue(sameNs(pid1, "net", netns), "c1 is in the pod's netns");

        // The driver bundle restarts inside the same JVM: the new instance re-attaches to c1.
        first.close();
        RuncDriver driver = new RuncDriver(events::add, paths, NO_KEEPER, settings());
        live = driver;
        assertEquals(1, driver.recover().size());
        TaskService tasks = driver.tasks("pod1");
        assertEquals(TaskState.Status.RUNNING, tasks.state("c1", "").status());

        // exec: prints to its own FIFO and exits 0; it sees the same hostname and PID namespace.
        Path outE = fifo("e1.out");
        CompletableFuture<String> readE = readFifo(outE);
        tasks.exec(new ExecSpec("c1", "e1", new Stdio("", outE.toString(), "", false), processJson(
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
        assertFalse(HostFiles.isMountPoint(bundle("c1").resolve("rootfs")), "rootfs unmounted at delete");
        assertEquals(SandboxException.Code.NOT_FOUND,
                assertThrows(SandboxException.class, () -> tasks.state("c1", "")).code());

        // c2 exits by itself with 3; c3 keeps running until Stop.
        tasks.create(task("c2", "", "", "exit 3"));
        tasks.start("c2", "");
        assertEquals(3, tasks.waitFor("c2", "").toCompletableFuture().get(10, TimeUnit.SECONDS).code());
        tasks.create(task("c3", "", "", "exec sleep 1000"));
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
        assertEquals(List.of(), listTree(run.resolve("runc")), "no runc state");
        assertEquals(List.of(), listTree(run.resolve("ns")), "no pinned namespaces");
        assertEquals(List.of(), listTree(run.resolve("tasks")), "no work files");
        assertEquals(List.of(), listTree(run.resolve("log")), "no runc logs");
        assertEquals(List.of(), listTree(paths.stateDir("runc")), "no state file");
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
        RuncDriver first = new RuncDriver(events::add, paths, NO_KEEPER, settings());
        live = first;
        PodConfig pod = new PodConfig("web", "default", "uid-2", "kuasar-pod", "", PodConfig.NamespaceMode.POD,
                PodConfig.NamespaceMode.POD, PodConfig.NamespaceMode.POD, "", Map.of(), List.of(), List.of(),
                List.of());
        first.create(new SandboxSpec("pod1", "k8s.io", netns.toString(), List.of(), pod, TypedData.EMPTY, Map.of(),
                Map.of()));
        first.start("pod1");
        TaskService tasks = first.tasks("pod1");
        TaskSpec c1 = task("c1", "", "", "exec sleep 1000");
        long pid1 = tasks.create(c1);
        assertEquals(pid1, tasks.create(c1), "a replayed Create answers the container's pid");
        assertEquals(pid1, tasks.start("c1", ""));
        assertEquals(pid1, tasks.start("c1", ""), "a replayed Start answers the same pid");
        ExecSpec e1 = new ExecSpec("c1", "e1", Stdio.NONE, processJson("sleep 1000"));
        tasks.exec(e1);
        tasks.exec(e1); // replayed: same spec, accepted
        assertEquals(SandboxException.Code.ALREADY_EXISTS, assertThrows(SandboxException.class,
                () -> tasks.exec(new ExecSpec("c1", "e1", Stdio.NONE, processJson("true")))).code());
        long execPid = tasks.start("c1", "e1");
        assertEquals(execPid, tasks.start("c1", "e1"));
        assertEquals(1, events.stream().filter(e -> e instanceof TaskEvent.Created).count(), "one Created event");

        // c2 is made, then its record is turned into what a crash inside Create leaves: no pid yet.
        TaskSpec c2 = task("c2", "", "", "exec sleep 1000");
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
        RuncDriver second = new RuncDriver(events::add, paths, NO_KEEPER, settings());
        live = second;
        assertEquals(1, second.recover().size());
        TaskService again = second.tasks("pod1");
        assertEquals(TaskState.Status.RUNNING, again.state("c1", "").status());
        assertEquals(SandboxException.Code.NOT_FOUND,
                assertThrows(SandboxException.class, () -> again.state("c2", "")).code());
        assertFalse(Files.exists(paths.runDir("runc").resolve("runc/c2")), "no runc state of c2 left");
        assertFalse(HostFiles.isMountPoint(bundle("c2").resolve("rootfs")), "c2's rootfs unmounted");
        long pid2 = again.create(c2); // the replayed Create
        assertEquals(pid2, again.start("c2", ""));
        assertEquals(TaskState.Status.RUNNING, again.state("c2", "").status());
        assertEquals(pid1, again.create(c1), "a replay reaching the new JVM answers the same pid too");

        second.stop("pod1", Duration.ofSeconds(2));
        second.shutdown("pod1");
        assertEquals(List.of(), listTree(paths.runDir("runc").resolve("runc")), "no runc state");
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


    private Path bundle(String id) {
        return tmp.resolve("bundles").resolve(id);
    }

    /** A bundle as containerd would prepare it: runc's default spec adjusted the way CRI writes it. */
    private TaskSpec task(String id, String stdin, String stdout, String script) throws Exception {
        Path b = Files.createDirectories(bundle(id));
        Commands.run(List.of(RUNC.toString(), "spec", "--bundle", b.toString()), 10);
        ObjectNode spec = (ObjectNode) json.readTree(b.resolve("config.json").toFile());
        ObjectNode process = (ObjectNode) spec.get("process");
        process.put("terminal", false);
        process.set("args", json.valueToTree(List.of("/bin/sh", "-c", script)));
        spec.remove("hostname");
        ((ObjectNode) spec.get("root")).put("readonly", false);
        ObjectNode linux = (ObjectNode) spec.get("linux");
        linux.put("cgroupsPath", "/kuasar-it-" + id);
        ArrayNode ns = linux.putArray("namespaces");
        for (String[] t : new String[][] {{"pid", "pid"}, {"network", "net"}, {"ipc", "ipc"}, {"uts", "uts"}}) {
            ns.addObject().put("type", t[0]).put("path", "/proc/" + JVM + "/ns/" + t[1]);
        }
        ns.addObject().put("type", "mount");
        Files.write(b.resolve("config.json"), json.writeValueAsBytes(spec));
        Path upper = Files.createDirectories(tmp.resolve("snap").resolve(id).resolve("fs"));
        Path work = Files.createDirectories(tmp.resolve("snap").resolve(id).resolve("work"));
        Mount overlay = new Mount("overlay", "overlay", "", List.of("lowerdir=" + tmp.resolve("image"),
                "upperdir=" + upper, "workdir=" + work));
        return new TaskSpec(id, b.toString(), List.of(overlay), new Stdio(stdin, stdout, "", false), "", "",
                TypedData.EMPTY);
    }

    private TypedData processJson(String script) throws Exception {
        Map<String, Object> p = Map.of("args", List.of("/bin/sh", "-c", script), "cwd", "/", "env",
                List.of("PATH=/bin"), "user", Map.of("uid", 0, "gid", 0), "terminal", false);
        return new TypedData("types.containerd.io/opencontainers/runtime-spec/1/Process", json.writeValueAsBytes(p));
    }

    private Path fifo(String name) throws IOException {
        Path f = tmp.resolve(name);
        Commands.run(List.of("mkfifo", f.toString()), 10);
        return f;
    }

    /** Reads the FIFO to EOF on another thread (opening it blocks until the container side opens it). */
    private static CompletableFuture<String> readFifo(Path f) {
        return CompletableFuture.supplyAsync(() -> {
            try (FileInputStream in = new FileInputStream(f.toFile())) {
                // not readAllBytes(): JDK 17's FileInputStream version seeks, which fails on a FIFO
                java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
                in.transferTo(buf);
                return buf.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, r -> {
            Thread t = new Thread(r, "fifo-reader");
            t.setDaemon(true);
            t.start();
        });
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

    private static List<Path> listTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (var s = Files.walk(dir)) {
            return s.filter(p -> !p.equals(dir)).toList();
        }
    }
}
