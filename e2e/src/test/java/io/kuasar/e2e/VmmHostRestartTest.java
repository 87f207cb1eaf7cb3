package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.RemovePodSandboxRequest;
import io.kuasar.api.cri.v1.StopPodSandboxRequest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfEnvironmentVariable;

/**
 * kill -9 of the node's JVM while a VM pod runs a sleeper and a container that exits with 9 some seconds later. The
 * VM (its own session) keeps running; the keeper keeps containerd's task connection and restarts the JVM; the vmm
 * driver reconnects to the agent's socket (QEMU is the server) from its state dir and watches the containers again.
 * CRI must not notice: the sleeper stays RUNNING with the same guest pid and answers ExecSync, the other reports its
 * own code 9, a shell on a terminal is attached to, typed into and resized on both sides of the crash, a server
 * started after it is reached through port-forward (the new driver's port mirror), and Stop/Remove leave nothing
 * behind.
 */
@DisabledIfEnvironmentVariable(named = "KUASAR_KEEPER", matches = "0",
        disabledReason = "KUASAR_KEEPER=0: no keeper restarts the node's JVM after the kill -9 this test makes")
class VmmHostRestartTest extends CriTestBase {
    private static final Duration BACK = Duration.ofSeconds(60);

    @BeforeAll
    static void qemuAndTheGuestImageAreThere() {
        HostTools.requireHandler(VmmPodTest.VMM_HANDLER);
    }

    @Test
    void vmPodSurvivesAKillDashNineOfTheHostJvm() throws Exception {
        KeeperNode node = new KeeperNode(env, BACK);
        long keeper = node.keeper();

        PodSandboxConfig pod = podConfig("vm-restart");
        String podId = runPod(pod, VmmPodTest.VMM_HANDLER);
        String sleeper = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(sleeper, ContainerState.CONTAINER_RUNNING, VmmPodTest.VM_WAIT);
        long guestPid = initPid(sleeper);
        String shell = cri.runContainer(podId, pod, containerConfig("shell", busybox(), "sh").toBuilder().setTty(true)
                .setStdin(true).build());
        cri.waitForState(shell, ContainerState.CONTAINER_RUNNING, VmmPodTest.VM_WAIT);
        TerminalTalk.talk(cri, shell, 80, 20, "before");
        String nine = cri.runContainer(podId, pod, containerConfig("nine", busybox(), "sh", "-c",
                "echo before; sleep 8; echo after; exit 9"));
        cri.waitForState(nine, ContainerState.CONTAINER_RUNNING, VmmPodTest.VM_WAIT);
        List<String> ids = List.of(podId, podId.substring(0, 24), sleeper, nine, shell);
        List<Processes.Proc> qemu = Processes.matching(p -> p.argvMentions("kuasar-" + podId));
        assertEquals(1, qemu.size(), "one QEMU for the pod");

        long jvm = KeeperNode.jvmOf(keeper);
        assertTrue(jvm > 0, "no java child of keeper " + keeper);
        long t0 = System.nanoTime();
        new ProcessBuilder("kill", "-9", Long.toString(jvm)).inheritIO().start().waitFor();
        long newJvm = node.awaitNewJvm(keeper, jvm);
        node.awaitSandboxerAnswers();
        System.out.printf("VmmHostRestartTest: kill -9 of JVM %d to the sandboxer answering again (JVM %d): %d ms%n",
                jvm, newJvm, (System.nanoTime() - t0) / 1_000_000);

        ContainerStatus st = cri.containerStatus(sleeper);
        assertEquals(ContainerState.CONTAINER_RUNNING, st.getState(),
                () -> "sleeper after the crash: " + st.getState() + " " + st.getExitCode() + " " + st.getReason());
        ExecSyncResponse r = execSync(sleeper, "echo", "still-here");
        assertEquals(0, r.getExitCode(), () -> r.getStderr().toStringUtf8());
        assertEquals("still-here\n", r.getStdout().toStringUtf8());
        System.out.printf("VmmHostRestartTest: kill -9 to the VM pod answering ExecSync: %d ms%n",
                (System.nanoTime() - t0) / 1_000_000);
        TerminalTalk.talk(cri, shell, 100, 30, "after");
        // the restarted driver mirrors the guest's ports again: a server started now is forwarded
        ExecSyncResponse web = execSync(sleeper, "sh", "-c",
                "mkdir -p /www && echo served-after-restart > /www/index.html && httpd -p 8081 -h /www");
        assertEquals(0, web.getExitCode(), () -> web.getStderr().toStringUtf8());
        String forwarded = RuncPortForwardTest.forwardedGet(cri, podId, 8081, "served-after-restart", WAIT);
        assertTrue(forwarded.contains("served-after-restart"), () -> "port-forward after the restart: " + forwarded);
        ContainerStatus e9 = cri.waitForState(nine, ContainerState.CONTAINER_EXITED, VmmPodTest.VM_WAIT);
        String log = cri.waitForLog(nine, "after", WAIT);
        assertAll(() -> assertEquals(9, e9.getExitCode(), () -> "nine: " + e9),
                () -> assertTrue(log.contains("before") && log.contains("after"), () -> "output across the restart: " + log),
                () -> assertEquals(ContainerState.CONTAINER_RUNNING, cri.containerStatus(sleeper).getState()),
                () -> assertEquals(guestPid, initPid(sleeper), "the same guest process"),
                () -> assertEquals(qemu.get(0).pid(), Processes.matching(p -> p.argvMentions("kuasar-" + podId)).get(0).pid(),
                        "the same QEMU"));

        cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
        cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
        forget(podId);
        HostTraces.Found after = HostTraces.naming(env, ids);
        long end = System.currentTimeMillis() + 3_000;
        while (!after.isEmpty() && System.currentTimeMillis() < end) {
            Thread.sleep(100);
            after = HostTraces.naming(env, ids);
        }
        HostTraces.Found left = after;
        assertTrue(left.isEmpty(), () -> "left behind after the restart: " + left);
    }
}
