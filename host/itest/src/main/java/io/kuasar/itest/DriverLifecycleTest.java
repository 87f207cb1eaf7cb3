package io.kuasar.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.host.SandboxRouter;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Mount;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import io.kuasar.spi.TypedData;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.Version;

/**
 * Inside Felix, as root, no containerd: a runc pod with a running container is created through the host's
 * {@link SandboxRouter}, then the runc driver's bundle is upgraded, rolled back, uninstalled and removed under it.
 * The container must keep running (same pid) and be served by whichever driver version is installed; a Wait
 * pending across the change completes with the true exit code. The removal goes through the node's admin socket
 * (the route of {@code java -jar kuasar.jar remove runc [--force]}).
 */
class DriverLifecycleTest {
    private static final String RUNC = "runc";
    private static final String DRIVER_BSN = "io.kuasar.driver.runc";
    private static final Path BUSYBOX = Path.of("/bin/busybox");
    private static final String RUNC_BINARY = Files.isExecutable(Path.of("/usr/sbin/runc")) ? "/usr/sbin/runc" : "runc";
    private static final long JVM = ProcessHandle.current().pid();
    private static final Duration SERVE_TIMEOUT = Duration.ofSeconds(15);

    private static final BundleContext CONTEXT = FrameworkUtil.getBundle(DriverLifecycleTest.class).getBundleContext();
    /** The driver jar as the node shipped it, kept for roll back and reinstall. */
    private static byte[] shippedJar;
    private static Version shippedVersion;

    private final ObjectMapper json = new ObjectMapper();
    private final List<String> pods = new ArrayList<>();
    private SandboxRouter router;
    private Path tmp;

    @BeforeAll
    static void keepShippedDriver() throws Exception {
        // The uid, not the user's name: root may be called otherwise, and another user may be called root.
        assertEquals(0, (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid"),
                "these tests run runc: they need root (uid 0)");
        assertTrue(Files.isExecutable(BUSYBOX), "busybox-static is needed (" + BUSYBOX + ")");
        Bundle driver = driverBundle().orElseThrow(() -> new AssertionError("no " + DRIVER_BSN + " installed"));
        shippedJar = DriverJar.of(driver);
        shippedVersion = driver.getVersion();
        // A run killed half-way leaves its pods in target/itest/state; this framework's driver recovered them: end them.
        awaitServingVersion(shippedVersion);
        SandboxRouter router = service(SandboxRouter.class);
        for (SandboxStatus stale : router.sandboxes()) {
            if (stale.id().startsWith("itest-")) {
                router.stop(RUNC, stale.id(), Duration.ofSeconds(2));
                router.shutdown(RUNC, stale.id());
            }
        }
        Path tmpRoot = tmpRoot();
        for (String mount : HostState.mountPointsUnder(tmpRoot)) {
            HostState.run(List.of("umount", "-l", mount));
        }
        HostState.deleteTree(tmpRoot);
    }

    /** Where the tests' bundles and rootfs go: {@code kuasar.itest.tmp} (target/itest/tmp, set by itest.bndrun). */
    private static Path tmpRoot() {
        String dir = CONTEXT.getProperty("kuasar.itest.tmp");
        assertNotNull(dir, "kuasar.itest.tmp is set by itest.bndrun");
        return Path.of(dir);
    }

    @BeforeEach
    void setUp() throws Exception {
        ensureShippedDriverServes();
        router = service(SandboxRouter.class);
        tmp = Files.createTempDirectory(Files.createDirectories(tmpRoot()), "t");
        Path image = Files.createDirectories(tmp.resolve("image/bin"));
        Files.copy(BUSYBOX, image.resolve("busybox"));
        for (String applet : List.of("sh", "sleep", "true")) {
            Files.createSymbolicLink(image.resolve(applet), Path.of("busybox"));
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        // Whatever a test did to the driver, a shipped driver serves again, and every pod made here is gone.
        ensureShippedDriverServes();
        for (String id : pods) {
            try {
                router.stop(RUNC, id, Duration.ofSeconds(2));
            } catch (SandboxException e) {
                // already removed (forced remove)
            }
            try {
                router.shutdown(RUNC, id);
            } catch (SandboxException e) {
                // already removed
            }
        }
        for (String mount : HostState.mountPointsUnder(tmp)) { // normally none: task delete / shutdown unmount the rootfs
            HostState.run(List.of("umount", "-l", mount));
        }
        HostState.deleteTree(tmp);
    }

    @Test
    void upgradeKeepsTheContainerRunningAndTheNewVersionServesItAndAPendingWait() throws Exception {
        String pod = startPod("itest-upgrade");
        long pid = startContainer(pod, "c1", "exec sleep 1000");
        CompletableFuture<ExitStatus> pendingWait = router.waitTask(pod, "c1", "").toCompletableFuture();

        Bundle driver = driverBundle().orElseThrow();
        driver.update(new ByteArrayInputStream(DriverJar.withVersion(shippedJar, "0.1.1")));
        assertEquals(Version.parseVersion("0.1.1"), awaitServingVersion(Version.parseVersion("0.1.1")));
        assertEquals(driver.getBundleId(), driverBundle().orElseThrow().getBundleId(), "updated in place");

        assertTrue(HostState.alive(pid), "the container process survived the upgrade");
        TaskState state = router.task(pod, t -> t.state("c1", ""));
        assertEquals(TaskState.Status.RUNNING, state.status());
        assertEquals(pid, state.pid(), "same process");
        Admin.Answer drivers = admin().send("drivers");
        assertTrue(drivers.ok(), drivers.text());
        assertTrue(drivers.lines().stream().anyMatch(l -> l.matches(
                "runc\\s+" + DRIVER_BSN.replace(".", "\\.") + "\\s+0\\.1\\.1\\s+\\S+\\s+serving\\s+1")),
                "0.1.1 serves runc with the pod:\n" + drivers.text());
        assertFalse(pendingWait.isDone(), "the Wait is still pending");

        router.task(pod, t -> {
            t.kill("c1", "", 9, false);
            return null;
        });
        assertEquals(137, pendingWait.get(10, TimeUnit.SECONDS).code(), "the pending Wait got the true exit code");
        assertEquals(137, router.task(pod, t -> t.delete("c1", "")).code());
    }

    @Test
    void rollBackToTheShippedVersionKeepsTheContainerRunning() throws Exception {
        String pod = startPod("itest-rollback");
        long pid = startContainer(pod, "c1", "exec sleep 1000");
        Bundle driver = driverBundle().orElseThrow();
        driver.update(new ByteArrayInputStream(DriverJar.withVersion(shippedJar, "0.1.1")));
        awaitServingVersion(Version.parseVersion("0.1.1"));
        CompletableFuture<ExitStatus> pendingWait = router.waitTask(pod, "c1", "").toCompletableFuture();

        // Roll back: the same bundle updated from the jar it had before.
        driver.update(new ByteArrayInputStream(shippedJar));
        assertEquals(shippedVersion, awaitServingVersion(shippedVersion));

        assertTrue(HostState.alive(pid), "the container process survived upgrade and rollback");
        TaskState state = router.task(pod, t -> t.state("c1", ""));
        assertEquals(TaskState.Status.RUNNING, state.status());
        assertEquals(pid, state.pid());
        assertFalse(pendingWait.isDone());
        router.task(pod, t -> {
            t.kill("c1", "", 15, false);
            return null;
        });
        assertEquals(143, pendingWait.get(10, TimeUnit.SECONDS).code());
        assertEquals(143, router.task(pod, t -> t.delete("c1", "")).code());
    }

    @Test
    void removeIsRefusedWhileTheDriverHasSandboxesAndForcedRemoveShutsThemDown() throws Exception {
        String pod = startPod("itest-remove");
        long pid = startContainer(pod, "c1", "exec sleep 1000");
        Admin admin = admin();

        Admin.Answer refused = admin.send("remove runc");
        assertFalse(refused.ok(), refused.text());
        assertTrue(refused.status().startsWith("ERR ") && refused.status().contains("1 sandbox"), refused.text());
        assertEquals(Bundle.ACTIVE, driverBundle().orElseThrow().getState(), "still installed and active");
        assertTrue(HostState.alive(pid));
        assertEquals(TaskState.Status.RUNNING, router.task(pod, t -> t.state("c1", "")).status());

        Admin.Answer forced = admin.send("remove runc --force");
        assertTrue(forced.ok(), forced.text());
        assertTrue(forced.text().contains("1 sandbox(es) shut down"), forced.text());
        assertFalse(driverBundle().isPresent(), "the driver bundle is uninstalled");
        assertTrue(HostState.awaitDead(pid, Duration.ofSeconds(5)), "the container was stopped");
        assertTrue(HostState.mountPointsUnder(tmp).isEmpty(), "rootfs unmounted: " + HostState.mountPointsUnder(tmp));
        Path state = Path.of(CONTEXT.getProperty("kuasar.state.dir"), RUNC);
        assertTrue(!Files.exists(state) || HostState.listFiles(state).stream().noneMatch(p -> p.toString().contains(pod)),
                "no state of the pod left: " + HostState.listFiles(state));

        long t0 = System.nanoTime();
        SandboxException gone = assertThrows(SandboxException.class, () -> router.status(RUNC, pod, false));
        assertEquals(SandboxException.Code.NOT_FOUND, gone.code(), gone.getMessage());
        SandboxException noDriver = assertThrows(SandboxException.class,
                () -> router.create(RUNC, new SandboxSpec("itest-after", "itest", "", List.of(), null,
                        TypedData.EMPTY, Map.of(), Map.of())));
        assertEquals(SandboxException.Code.NOT_FOUND, noDriver.code(), noDriver.getMessage());
        assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(1000), "NOT_FOUND at once, no wait");
        pods.remove(pod);
    }

    @Test
    void plainUninstallLeavesTheSandboxRunningAndAReinstalledDriverServesIt() throws Exception {
        String pod = startPod("itest-uninstall");
        long pid = startContainer(pod, "c1", "exec sleep 1000");
        CompletableFuture<ExitStatus> pendingWait = router.waitTask(pod, "c1", "").toCompletableFuture();

        driverBundle().orElseThrow().uninstall();
        long t0 = System.nanoTime();
        SandboxException away = assertThrows(SandboxException.class, () -> router.task(pod, t -> t.state("c1", "")));
        long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertEquals(SandboxException.Code.UNAVAILABLE, away.code(), away.getMessage());
        assertTrue(away.getMessage().contains(RUNC), away.getMessage());
        assertTrue(waitedMs >= 1000, "the request waited the bound (kuasar.driver.wait.ms=1500) first: " + waitedMs);
        assertTrue(HostState.alive(pid), "the container keeps running without its driver");
        assertFalse(pendingWait.isDone());

        Bundle again = CONTEXT.installBundle("itest:reinstalled-driver-runc", new ByteArrayInputStream(shippedJar));
        again.start();
        awaitServingVersion(shippedVersion);
        TaskState state = router.task(pod, t -> t.state("c1", ""));
        assertEquals(TaskState.Status.RUNNING, state.status());
        assertEquals(pid, state.pid(), "the recorded sandbox is served again, same process");
        router.task(pod, t -> {
            t.kill("c1", "", 9, false);
            return null;
        });
        assertEquals(137, pendingWait.get(10, TimeUnit.SECONDS).code());
        assertEquals(137, router.task(pod, t -> t.delete("c1", "")).code());
    }

    // --- pods and containers ----------------------------------------------------------------------------------

    /**
     * A runc pod on the host network (no netns) with its own IPC, UTS and PID namespaces, the PID namespace shared by
     * its containers (held by the driver's holder process: no container is pid 1 and ignores SIGTERM).
     */
    private String startPod(String id) throws Exception {
        PodConfig config = new PodConfig(id, "itest", "uid-" + id, "itest-pod", "", PodConfig.NamespaceMode.NODE,
                PodConfig.NamespaceMode.POD, PodConfig.NamespaceMode.POD, "", Map.of(), List.of(), List.of(),
                List.of());
        pods.add(id);
        router.create(RUNC, new SandboxSpec(id, "itest", "", List.of(), config, TypedData.EMPTY, Map.of(), Map.of()));
        assertEquals(JVM, router.start(RUNC, id).pid(), "the pod is served by this JVM");
        return id;
    }

    /**
     * A container as containerd would make it: {@code runc spec}'s default adjusted the way CRI writes it (the pod's
     * namespaces named by the pid Start returned, which the driver maps to what the pod owns), its rootfs an
     * overlay of a busybox image.
     */
    private long startContainer(String pod, String id, String script) throws Exception {
        Path bundle = Files.createDirectories(tmp.resolve("bundles").resolve(id));
        HostState.run(List.of(RUNC_BINARY, "spec", "--bundle", bundle.toString()));
        ObjectNode spec = (ObjectNode) json.readTree(bundle.resolve("config.json").toFile());
        ObjectNode process = (ObjectNode) spec.get("process");
        process.put("terminal", false);
        process.set("args", json.valueToTree(List.of("/bin/sh", "-c", script)));
        spec.remove("hostname");
        ((ObjectNode) spec.get("root")).put("readonly", false);
        ObjectNode linux = (ObjectNode) spec.get("linux");
        linux.put("cgroupsPath", "/kuasar-itest-" + pod + "-" + id);
        ArrayNode ns = linux.putArray("namespaces");
        ns.addObject().put("type", "pid").put("path", "/proc/" + JVM + "/ns/pid");
        ns.addObject().put("type", "ipc").put("path", "/proc/" + JVM + "/ns/ipc");
        ns.addObject().put("type", "uts").put("path", "/proc/" + JVM + "/ns/uts");
        ns.addObject().put("type", "mount");
        Files.write(bundle.resolve("config.json"), json.writeValueAsBytes(spec));
        Path snapshot = tmp.resolve("snapshots").resolve(id);
        Path upper = Files.createDirectories(snapshot.resolve("fs"));
        Path work = Files.createDirectories(snapshot.resolve("work"));
        Mount overlay = new Mount("overlay", "overlay", "", List.of("lowerdir=" + tmp.resolve("image"),
                "upperdir=" + upper, "workdir=" + work));
        long pid = router.task(pod, t -> t.create(new TaskSpec(id, bundle.toString(), List.of(overlay), Stdio.NONE,
                "", "", TypedData.EMPTY)));
        assertEquals(pid, (long) router.task(pod, t -> t.start(id, "")));
        assertEquals(TaskState.Status.RUNNING, router.task(pod, t -> t.state(id, "")).status());
        assertTrue(HostState.alive(pid));
        return pid;
    }

    // --- the driver bundle and its service -------------------------------------------------------------------

    private static Optional<Bundle> driverBundle() {
        return Stream.of(CONTEXT.getBundles()).filter(b -> DRIVER_BSN.equals(b.getSymbolicName())).findFirst();
    }

    /** Installs the shipped driver if none is installed, updates it back if another version is, and waits for it. */
    private static void ensureShippedDriverServes() throws Exception {
        Optional<Bundle> driver = driverBundle();
        if (driver.isEmpty()) {
            CONTEXT.installBundle("itest:reinstalled-driver-runc", new ByteArrayInputStream(shippedJar)).start();
        } else if (!driver.get().getVersion().equals(shippedVersion)) {
            driver.get().update(new ByteArrayInputStream(shippedJar));
        } else if (driver.get().getState() != Bundle.ACTIVE) {
            driver.get().start();
        }
        awaitServingVersion(shippedVersion);
    }

    /**
     * Waits until the only registered runc driver service comes from a bundle of {@code version} and the router
     * lists it as serving; returns that version.
     */
    private static Version awaitServingVersion(Version version) throws Exception {
        long deadline = System.nanoTime() + SERVE_TIMEOUT.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            Collection<ServiceReference<SandboxDriver>> refs = driverServices();
            if (refs.size() == 1) {
                Bundle from = refs.iterator().next().getBundle();
                if (from != null && from.getVersion().equals(version)) {
                    Admin.Answer drivers = admin().send("drivers");
                    last = drivers.text();
                    if (drivers.lines().stream().anyMatch(l -> l.startsWith("runc ") && l.contains(" serving ")
                            && l.contains(" " + version + " "))) {
                        return from.getVersion();
                    }
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("runc driver " + version + " does not serve within " + SERVE_TIMEOUT + "; services "
                + driverServices().stream().map(r -> r.getBundle() + "").toList() + "; drivers:\n" + last);
    }

    private static Collection<ServiceReference<SandboxDriver>> driverServices() throws InvalidSyntaxException {
        return CONTEXT.getServiceReferences(SandboxDriver.class, "(" + SandboxDriver.SANDBOXER + "=" + RUNC + ")");
    }

    private static <T> T service(Class<T> type) throws InterruptedException {
        long deadline = System.nanoTime() + SERVE_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            ServiceReference<T> ref = CONTEXT.getServiceReference(type);
            T s = ref == null ? null : CONTEXT.getService(ref);
            if (s != null) {
                return s;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no " + type.getName() + " service");
    }

    private static Admin admin() {
        String socket = CONTEXT.getProperty("kuasar.admin.socket");
        assertNotNull(socket, "kuasar.admin.socket is set by itest.bndrun");
        return new Admin(Path.of(socket));
    }
}
