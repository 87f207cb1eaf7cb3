package io.kuasar.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ExecSyncRequest;
import io.kuasar.api.cri.v1.PodSandboxState;
import io.kuasar.e2e.CriClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * kuasar.service under a real systemd ({@link SystemdUserManager}), the package's node serving a pod through
 * containerd ({@link UnitNodeSite}): {@code systemctl restart} stops the keeper, which hands containerd's task
 * connections to systemd's file descriptor store, and starts a new one, which takes them back. The container must
 * still run in CRI's eyes and answer ExecSync through the same connection containerd dialled once.
 */
class SystemdServiceTest {
    @Test
    void aRestartOfTheServiceLeavesThePodRunningAndServed() throws Exception {
        try (UnitNodeSite site = new UnitNodeSite()) {
            Assumptions.assumeTrue(SystemdUserManager.unavailable().isEmpty(), () -> SystemdUserManager.unavailable().get());
            DebPackage.built().unpack(site.root);
            PathMap paths = new PathMap(site.root, site.containerdSocket());
            UnitNode node = new UnitNode(site.root, paths, site.dir.resolve("node.log")); // for its CLI
            Path log = site.dir.resolve("node.log"); // no journald here: the unit's output goes to a file
            Map<String, String> units = Map.of("kuasar.service", node.preparedUnit(),
                    "kuasar.service.d/log.conf", "[Service]\nStandardOutput=append:" + log + "\nStandardError=inherit\n");
            try (SystemdUserManager systemd = new SystemdUserManager(site.root.resolve("run"), site.root.resolve("var/lib"),
                    units, site.dir.resolve("systemd.log"));
                 CriClient cri = new CriClient(site.containerdSocket())) {
                systemd.systemctl("start", "kuasar.service").ok(); // Type=notify: returns once the keeper is READY
                node.awaitServing(UnitNodeSite.UP);
                UnitNodeSite.Pod pod = site.runSleeper(cri, "kuasar-runc", "served under systemd");

                String keeper = systemd.property("kuasar.service", "MainPID");
                long restarted = System.nanoTime();
                systemd.systemctl("restart", "kuasar.service").ok();
                assertNotEquals(keeper, systemd.property("kuasar.service", "MainPID"), "a new keeper runs");
                node.awaitServing(UnitNodeSite.UP);
                assertEquals(PodSandboxState.SANDBOX_READY, UnitNodeSite.awaitContainerdRedials(cri, pod.id()));
                assertServed(cri, pod, "after systemctl restart");
                System.out.printf("SystemdServiceTest: restart to ExecSync answered again: %d ms%n",
                        (System.nanoTime() - restarted) / 1_000_000);

                long stopped = System.nanoTime();
                systemd.systemctl("stop", "kuasar.service").ok();
                assertEquals("inactive", systemd.property("kuasar.service", "ActiveState"));
                systemd.systemctl("start", "kuasar.service").ok();
                node.awaitServing(UnitNodeSite.UP);
                assertEquals(PodSandboxState.SANDBOX_READY, UnitNodeSite.awaitContainerdRedials(cri, pod.id()));
                assertServed(cri, pod, "after systemctl stop and start");
                System.out.printf("SystemdServiceTest: stop to ExecSync answered again: %d ms%n",
                        (System.nanoTime() - stopped) / 1_000_000);
                List<String> handover = Files.readAllLines(log).stream().filter(l -> l.contains("handover:")).toList();
                handover.forEach(System.out::println);
                assertEquals(2, handover.stream().filter(l -> l.contains("took 1 listeners and 1 connections")).count(),
                        "each new keeper took the pod's listener and containerd's connection back: " + handover);
                // The restart's fds came from systemd's store; the stop's from the holder (systemd empties the store
                // of a stopped service; the unit does not set 254's FileDescriptorStorePreserve=).
                assertTrue(handover.stream().anyMatch(l -> l.matches(".*handover: [1-9]\\d* fds passed by systemd.*")),
                        "restart: from the fd store: " + handover);
                assertTrue(handover.stream().anyMatch(l -> l.matches(".*fds passed by systemd, [1-9]\\d* more by the holder.*")),
                        "stop: from the holder: " + handover);
            }
        }
    }

    private static void assertServed(CriClient cri, UnitNodeSite.Pod pod, String when) {
        String echoed = cri.runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(pod.container())
                .addCmd("echo").addCmd("still here").setTimeout(20).build()).getStdout().toStringUtf8();
        assertEquals("still here\n", echoed, "ExecSync " + when);
        // CRI marks a container exited as soon as its task connection closes: it has had the ExecSync's time to.
        assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(pod.container()).getState(),
                "the container runs " + when);
    }
}
