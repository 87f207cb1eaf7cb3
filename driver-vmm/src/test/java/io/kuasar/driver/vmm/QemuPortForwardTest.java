package io.kuasar.driver.vmm;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link QemuVmm#forwardPorts} against a real QEMU (stopped before its first instruction: forwards need no guest),
 * in this test's network namespace: the forwards it makes listen on loopback, and go when the set no longer has them.
 */
class QemuPortForwardTest {
    private static final String QEMU = "qemu-system-x86_64";
    @TempDir
    Path dir;
    private final QemuVmm vmm = new QemuVmm(QEMU);
    private Process qemu;

    @AfterEach
    void stop() {
        if (qemu != null) {
            qemu.destroyForcibly();
        }
        vmm.close();
    }

    private Vmm.VmInstance startQemu(List<String> nic) throws IOException {
        boolean installed = false;
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            installed |= Files.isExecutable(Path.of(d, QEMU));
        }
        assumeTrue(installed, QEMU + " is not installed on this host (scripts/deps.d/vmm.sh installs it)");
        List<String> argv = new ArrayList<>(List.of(QEMU, "-machine", "pc", "-nodefaults", "-display", "none", "-S",
                "-qmp", "unix:" + dir.resolve("qmp.sock") + ",server=on,wait=off"));
        argv.addAll(nic);
        qemu = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile())
                .start();
        return new Vmm.VmInstance(qemu.pid(), dir.resolve("qmp.sock"), dir.resolve("agent.sock"),
                dir.resolve("console.log"));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
            return true;
        } catch (IOException refused) {
            return false;
        }
    }

    @Test
    void forwardsFollowTheSetAndAPortTakenElsewhereIsLeftOut() throws IOException {
        Vmm.VmInstance vm = startQemu(PortForwards.qemuArguments());
        int a = freePort();
        int b = freePort();
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int busy = taken.getLocalPort();
            vmm.forwardPorts(vm, Set.of(a, b, busy)); // QEMU cannot bind busy: logged, the others are made
            assertTrue(listening(a) && listening(b), "QEMU listens on the forwarded ports; " + log());
        }
        vmm.forwardPorts(vm, Set.of(b));
        assertTrue(!listening(a) && listening(b), "a port no longer in the set is no longer forwarded; " + log());
        vmm.forwardPorts(vm, Set.of(b)); // nothing to change: nothing refused
        vmm.forwardPorts(vm, Set.of());
        assertTrue(!listening(b), "an empty set leaves no forward; " + log());
    }

    @Test
    void aVmWithoutTheForwardNicRefusesToForward() throws IOException {
        Vmm.VmInstance vm = startQemu(List.of("-netdev", "hubport,id=net0,hubid=0"));
        PortForwards.NoForwardNic e = assertThrows(PortForwards.NoForwardNic.class,
                () -> vmm.forwardPorts(vm, Set.of(freePort())));
        assertTrue(e.getMessage().contains("fwd"), e.getMessage());
    }

    private String log() {
        try {
            return "qemu: " + Files.readString(dir.resolve("qemu.log"));
        } catch (IOException e) {
            return "no qemu log";
        }
    }
}
