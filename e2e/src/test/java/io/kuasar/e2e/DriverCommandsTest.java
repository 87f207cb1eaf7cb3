package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ListPodSandboxRequest;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The operator's command line against the running node: {@code java -jar host/target/kuasar.jar --admin-socket
 * <run>/admin.sock drivers|sandboxes|remove|upgrade|rollback}. With runc pods running: drivers lists runc with its
 * bundle, version and sandbox count; remove is refused naming the count; upgrade to a repacked 0.1.2 and rollback
 * keep every pod RUNNING with the same process and exec answering. {@code remove --force} is not run here: it would
 * take the shared node's runc driver away from the tests after this one.
 */
class DriverCommandsTest extends CriTestBase {
    private static final String NEW_VERSION = "0.1.2";
    /** Pods running through the switch: as many as the operator scenario asks for. */
    private static final int PODS = 10;
    private static final Duration SWITCH = Duration.ofSeconds(20);

    private boolean upgraded;

    @AfterEach
    void rollBackIfTheTestStoppedHalfWay() throws Exception {
        if (upgraded) {
            upgraded = false;
            NodeCli.Result r = cli().admin("rollback", "runc");
            assertEquals(0, r.code(), () -> "could not roll the runc driver back after a failure: " + r);
        }
    }

    @Test
    void driversRemoveUpgradeAndRollbackFromTheCommandLineWithPodsRunning() throws Exception {
        Path socket = cli().adminSocket();
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)), "admin socket mode");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket.getParent())),
                "admin socket directory mode");

        Map<String, Long> sleepers = new LinkedHashMap<>();
        List<String> podIds = new ArrayList<>();
        for (int i = 0; i < PODS; i++) {
            PodSandboxConfig pod = podConfig("cli" + i);
            String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
            podIds.add(podId);
            String id = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
            cri.waitForState(id, ContainerState.CONTAINER_RUNNING, WAIT);
            sleepers.put(id, initPid(id));
        }

        // drivers: runc, its bundle, the version the node shipped, serving, as many sandboxes as CRI has runc pods.
        List<String> runc = serving(driversOk());
        assertEquals("io.kuasar.driver.runc", runc.get(1));
        String shipped = runc.get(2);
        assertTrue(shipped.startsWith("0.1.0"), () -> "shipped version " + shipped);
        assertEquals("ACTIVE", runc.get(3));
        long kuasarPods = cri.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()
                .stream().filter(p -> p.getRuntimeHandler().equals(NodeEnv.KUASAR_HANDLER)).count();
        assertTrue(kuasarPods >= podIds.size(), "CRI lists our pods");
        assertEquals(Long.toString(kuasarPods), runc.get(5), "sandbox count of runc against CRI's kuasar-runc pods");

        NodeCli.Result sandboxes = cli().admin("sandboxes");
        assertEquals(0, sandboxes.code(), sandboxes::toString);
        for (String podId : podIds) {
            assertTrue(sandboxes.out().lines().anyMatch(l -> l.startsWith(podId) && l.contains(" runc ")
                    && l.contains("READY")), () -> podId + " in\n" + sandboxes);
        }

        // remove is refused while runc has sandboxes, and says how many.
        NodeCli.Result remove = cli().admin("remove", "runc");
        assertEquals(1, remove.code(), remove::toString);
        assertTrue(remove.err().contains("has " + kuasarPods + " sandbox(es)"), remove::toString);
        assertEquals(runc, serving(driversOk()), "runc untouched by the refused remove");

        // upgrade to a repacked 0.1.2.
        long mark = nodeLogMark();
        Path jar = Files.createTempFile(logRoot, "driver-runc-", ".jar");
        DriverJars.repack(DriverJars.builtRuncJar(env.repo()), jar, NEW_VERSION);
        upgraded = true;
        NodeCli.Result upgrade = cli().admin("upgrade", "runc", jar.toString());
        assertEquals(0, upgrade.code(), upgrade::toString);
        assertTrue(upgrade.out().contains("upgraded runc to io.kuasar.driver.runc " + NEW_VERSION), upgrade::toString);
        List<String> now = awaitServing(l -> l.get(2).equals(NEW_VERSION));
        assertEquals("io.kuasar.driver.runc", now.get(1));
        assertStillServed(sleepers, mark);

        // rollback to what ran before.
        mark = nodeLogMark();
        NodeCli.Result rollback = cli().admin("rollback", "runc");
        assertEquals(0, rollback.code(), rollback::toString);
        upgraded = false;
        assertTrue(rollback.out().contains("rolled runc back to io.kuasar.driver.runc " + shipped), rollback::toString);
        awaitServing(l -> l.get(2).equals(shipped));
        assertStillServed(sleepers, mark);
        assertEquals(Long.toString(kuasarPods), serving(driversOk()).get(5));
    }

    @Test
    void badUsageAndAMissingNodeExitOne() throws Exception {
        NodeCli.Result usage = cli().admin("upgrade", "runc");
        assertEquals(1, usage.code(), usage::toString);
        assertTrue(usage.err().contains("usage: "), usage::toString);
        NodeCli.Result noNode = cli().run(
                List.of("--admin-socket", logRoot.resolve("none.sock").toString(), "drivers"));
        assertEquals(1, noNode.code(), noNode::toString);
        NodeCli.Result unknown = cli().admin("rollback", "no-such-driver");
        assertEquals(1, unknown.code(), unknown::toString);
        assertTrue(unknown.err().contains("no-such-driver"), unknown::toString);
    }

    private NodeCli.Result driversOk() throws IOException, InterruptedException {
        NodeCli.Result r = cli().admin("drivers");
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().startsWith("SANDBOXER"), r::toString);
        return r;
    }

    /** The fields of the runc line whose role is serving: sandboxer, bundle, version, state, role, count. */
    private static List<String> serving(NodeCli.Result drivers) {
        List<List<String>> lines = drivers.out().lines().map(l -> List.of(l.trim().split("\\s+")))
                .filter(f -> f.size() == 6 && f.get(0).equals("runc") && f.get(4).equals("serving")).toList();
        assertEquals(1, lines.size(), () -> "one serving runc line in\n" + drivers);
        return lines.get(0);
    }

    private List<String> awaitServing(Predicate<List<String>> wanted) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + SWITCH.toNanos();
        NodeCli.Result last;
        do {
            last = driversOk();
            List<List<String>> lines = last.out().lines().map(l -> List.of(l.trim().split("\\s+")))
                    .filter(f -> f.size() == 6 && f.get(0).equals("runc") && f.get(4).equals("serving")).toList();
            if (lines.size() == 1 && wanted.test(lines.get(0))) {
                return lines.get(0);
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("runc not served as wanted within " + SWITCH + ":\n" + last);
    }

    private NodeCli cli() {
        return new NodeCli(env, logRoot);
    }
}
