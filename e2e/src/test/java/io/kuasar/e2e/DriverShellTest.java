package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The node's Felix gogo shell, reached as an operator does on a node whose console is not a terminal: {@code java
 * -jar kuasar.jar shell LINE} over the root-only admin socket. With ten runc pods running: the shell's
 * {@code kuasar:upgrade} and {@code kuasar:rollback}; a container that exits while the driver bundle is stopped
 * ({@code stop ID}) reports its own exit code once the bundle is started again; and the endpoint bundle itself
 * updated ({@code update ID file:...}) while containerd's task connections stay with the keeper.
 */
class DriverShellTest extends CriTestBase {
    private static final int PODS = 10;
    private static final Duration SWITCH = Duration.ofSeconds(20);
    /** One line of {@code lb -s}: id, state, symbolic name, version. */
    private static final Pattern BUNDLE = Pattern.compile("^\\s*(\\d+)\\|(\\w+)\\s*\\|\\s*\\d+\\|(\\S+) \\(([^)]*)\\)");

    private String firstPod;
    private PodSandboxConfig firstPodConfig;
    /** Shell lines that put the node back as it was, run after the test even when it failed half-way. */
    private final List<String> restore = new ArrayList<>();

    @AfterEach
    void putTheNodeBack() throws Exception {
        for (String line : restore) {
            shell(line);
        }
        if (!restore.isEmpty() && firstPod != null) {
            // an endpoint put back restarts the Controller's server: containerd redials it with a backoff, and
            // fails sandbox calls at once until then (the cleanup's, next)
            new KeeperNode(env, Duration.ofSeconds(60)).awaitContainerdRedials(cri, firstPod);
        }
        restore.clear();
    }

    @Test
    void tenPodsKeepRunningWhileTheShellUpgradesAndRollsBackTheRuncDriver() throws Exception {
        Map<String, Long> sleepers = sleepers(PODS, "shell");
        String shipped = activeBundle("io.kuasar.driver.runc").version();

        long mark = nodeLogMark();
        Path jar = Files.createTempFile(logRoot, "driver-runc-", ".jar");
        DriverJars.repack(DriverJars.builtRuncJar(env.repo()), jar, "0.1.3");
        restore.add("kuasar:rollback runc");
        String upgraded = String.join("\n", shell("kuasar:upgrade runc " + jar));
        assertTrue(upgraded.contains("upgraded runc to io.kuasar.driver.runc 0.1.3"), upgraded);
        awaitActive("io.kuasar.driver.runc", "0.1.3");
        assertStillServed(sleepers, mark);

        mark = nodeLogMark();
        String rolledBack = String.join("\n", shell("kuasar:rollback runc"));
        restore.clear();
        assertTrue(rolledBack.contains("rolled runc back to io.kuasar.driver.runc " + shipped), rolledBack);
        awaitActive("io.kuasar.driver.runc", shipped);
        assertStillServed(sleepers, mark);
    }

    @Test
    void aContainerThatExitsWhileTheDriverIsStoppedReportsItsOwnCode() throws Exception {
        Map<String, Long> sleepers = sleepers(2, "gap");
        PodSandboxConfig pod = podConfig("gap-exit");
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        // SIGTERM ends it with 7, whoever is (or is not) watching.
        String seven = cri.runContainer(podId, pod, containerConfig("seven", busybox(), "sh", "-c",
                "trap 'exit 7' TERM; while true; do sleep 0.2; done"));
        cri.waitForState(seven, ContainerState.CONTAINER_RUNNING, WAIT);
        long pid = initPid(seven);

        long mark = nodeLogMark();
        Bundle driver = activeBundle("io.kuasar.driver.runc");
        restore.add("start " + driver.id());
        shell("stop " + driver.id());
        assertTrue(bundles().stream().anyMatch(b -> b.id() == driver.id() && b.state().equals("Resolved")),
                "the runc driver bundle is stopped");

        Process kill = new ProcessBuilder("kill", "-TERM", Long.toString(pid)).inheritIO().start();
        assertEquals(0, kill.waitFor());
        // The container has exited and nobody has collected its status yet: a zombie (or gone, if reaped elsewhere).
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!exitedOrZombie(pid)) {
            assertTrue(System.nanoTime() < deadline, "container " + pid + " did not exit on SIGTERM");
            Thread.sleep(50);
        }
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(seven).getState(),
                "containerd cannot know of the exit before a driver is back");

        shell("start " + driver.id());
        restore.clear();
        awaitActive("io.kuasar.driver.runc", driver.version());
        assertEquals(7, cri.waitForState(seven, ContainerState.CONTAINER_EXITED, WAIT).getExitCode(),
                "the exit during the gap reports the container's own code");
        assertStillServed(sleepers, mark);
    }

    @Test
    void updatingTheEndpointBundleKeepsTenPodsServed() throws Exception {
        Map<String, Long> sleepers = sleepers(PODS, "endpoint");
        Bundle endpoint = activeBundle("io.kuasar.ttrpc-endpoint");
        Path built = DriverJars.builtJar(env.repo(), "ttrpc-endpoint", "kuasar-ttrpc-endpoint");
        Path jar = Files.createTempFile(logRoot, "endpoint-", ".jar");
        DriverJars.repack(built, jar, "0.1.1");

        // Back to the build's content and version, signed with the build's key: the node resolves no unsigned update
        Path back = Files.createTempFile(logRoot, "endpoint-back-", ".jar");
        DriverJars.repack(built, back, endpoint.version());

        long mark = nodeLogMark();
        restore.add("update " + endpoint.id() + " file:" + back);
        shell("update " + endpoint.id() + " file:" + jar);
        awaitActive("io.kuasar.ttrpc-endpoint", "0.1.1");
        assertStillServed(sleepers, mark);

        // New task connections (a container in a running pod) and a new pod are served by the new endpoint too.
        PodSandboxConfig again = podConfig("endpoint-new");
        Map<String, PodSandboxConfig> pods = Map.of(firstPod, firstPodConfig, runPod(again, NodeEnv.KUASAR_HANDLER),
                again);
        for (Map.Entry<String, PodSandboxConfig> p : pods.entrySet()) {
            String three = cri.runContainer(p.getKey(), p.getValue(), containerConfig("after-update", busybox(),
                    "sh", "-c", "exit 3"));
            assertEquals(3, cri.waitForState(three, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    /** {@code count} runc pods with a sleeping container each: container id to its init pid. */
    private Map<String, Long> sleepers(int count, String name) {
        Map<String, Long> sleepers = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            PodSandboxConfig pod = podConfig(name + i);
            String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
            if (firstPod == null) {
                firstPod = podId;
                firstPodConfig = pod;
            }
            String id = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
            cri.waitForState(id, ContainerState.CONTAINER_RUNNING, WAIT);
            sleepers.put(id, initPid(id));
        }
        return sleepers;
    }

    private List<String> shell(String line) throws IOException, InterruptedException {
        NodeCli.Result r = new NodeCli(env, logRoot).admin("shell", line);
        assertEquals(0, r.code(), () -> "shell " + line + ": " + r);
        assertTrue(!r.out().contains("ERROR"), () -> "shell " + line + ": " + r);
        return r.out().lines().toList();
    }

    record Bundle(long id, String state, String name, String version) {
    }

    private List<Bundle> bundles() throws IOException, InterruptedException {
        List<Bundle> all = new ArrayList<>();
        for (String line : shell("lb -s")) {
            Matcher m = BUNDLE.matcher(line);
            if (m.find()) {
                all.add(new Bundle(Long.parseLong(m.group(1)), m.group(2), m.group(3), m.group(4)));
            }
        }
        return all;
    }

    private Bundle activeBundle(String name) throws IOException, InterruptedException {
        List<Bundle> active = bundles().stream().filter(b -> b.name().equals(name) && b.state().equals("Active"))
                .toList();
        assertEquals(1, active.size(), () -> "one active " + name + ": " + active);
        return active.get(0);
    }

    private void awaitActive(String name, String version) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + SWITCH.toNanos();
        List<Bundle> seen;
        do {
            seen = bundles();
            Optional<Bundle> hit = seen.stream().filter(b -> b.name().equals(name) && b.state().equals("Active")
                    && b.version().equals(version)).findFirst();
            if (hit.isPresent()) {
                return;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        throw new AssertionError(name + " " + version + " not active within " + SWITCH + ": " + seen);
    }

    private static boolean exitedOrZombie(long pid) throws IOException {
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        if (!Files.exists(stat)) {
            return true;
        }
        String s = Files.readString(stat);
        return s.substring(s.lastIndexOf(')') + 2).startsWith("Z");
    }
}
