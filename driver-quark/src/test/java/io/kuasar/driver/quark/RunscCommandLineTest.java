package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.SandboxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runsc command lines the driver builds and how it reads runsc's answers. */
class RunscCommandLineTest {
    @TempDir
    Path tmp;

    private RunscSettings settings() {
        return new RunscSettings("/usr/bin/runsc", "", "", "", "", List.of(), tmp, Duration.ofSeconds(3));
    }

    @Test
    void podCommandsRunInsideThePodNetnsWithThePodsRootAndPlatform() {
        Runsc r = new Runsc(settings(), tmp.resolve("pods/p1/root"), "/run/netns/cni-1", "systrap", null);
        assertEquals(List.of("nsenter", "--net=/run/netns/cni-1", "--", "/usr/bin/runsc",
                "--root=" + tmp.resolve("pods/p1/root"), "--platform=systrap", "--network=host", "--net-raw", "--oci-seccomp", "--log=/x.log",
                "create", "--bundle=/b", "--pid-file=/p", "p1"),
                r.argv(Path.of("/x.log"), List.of("create", "--bundle=/b", "--pid-file=/p", "p1")));
    }

    @Test
    void aHostNetworkPodNeedsNoNsenter() {
        Runsc r = new Runsc(settings(), tmp.resolve("root"), "", "ptrace", null);
        assertEquals(List.of("/usr/bin/runsc", "--root=" + tmp.resolve("root"), "--platform=ptrace",
                "--network=host", "--net-raw", "--oci-seccomp", "wait", "c1"), r.argv(null, List.of("wait", "c1")));
    }

    @Test
    void defaultsAreBusyboxPauseAndHostNetwork() {
        RunscSettings s = new RunscSettings(null, null, null, null, null, null, tmp, null);
        assertEquals("runsc", s.binary());
        assertEquals("host", s.network());
        assertEquals("/bin/busybox", s.pauseBinary());
        assertEquals(List.of("sleep", "2147483647"), s.pauseArgs());
        assertEquals(Duration.ofSeconds(10), s.stopTimeout());
    }

    @Test
    void waitOutputGivesTheExitCodeOrNothing() {
        assertEquals(3, Runsc.parseWait("{\"id\":\"c1\",\"exitStatus\":3}\n"));
        assertEquals(137, Runsc.parseWait("{\"id\":\"c1\",\"exitStatus\":137}"));
        assertEquals(-1, Runsc.parseWait(""));
        assertEquals(-1, Runsc.parseWait("waiting on container: no such container"));
    }

    @Test
    void errorsQuoteRunscAndNameTheKnownCauses() {
        assertEquals("unknown platform: bogus", Runsc.lastError(List.of(
                "W1129 13:18:29.826511 21900 util.go:64] FATAL ERROR: unknown platform: bogus",
                "unknown platform: bogus")));
        assertEquals("last words", Runsc.lastError(List.of("first", "last words", "  ")));

        SandboxException netstack = Runsc.failure("create", "p1", 128,
                "cannot read /proc/sys/net/core/rmem_default: root network namespace");
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, netstack.code());
        assertTrue(netstack.getMessage().contains("network = host"), netstack.getMessage());
        assertEquals(SandboxException.Code.NOT_FOUND,
                Runsc.failure("kill", "c9", 1, "container \"c9\" does not exist").code());
        assertEquals(SandboxException.Code.INTERNAL, Runsc.failure("start", "c1", 1, "boom").code());
    }

    @Test
    void goferPidComesFromRunscsStateFile() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        Files.writeString(root.resolve("c1_sandbox:p1.state"), "{\"id\":\"c1\",\"goferPid\":4242,\"status\":\"running\"}");
        Runsc r = new Runsc(settings(), root, "", "ptrace", null);
        assertEquals(4242, r.goferPid("c1", "p1"));
        assertEquals(0, r.goferPid("c2", "p1"), "no state file: unknown");
    }

    /** The exec wrapper passes the exit status on and keeps it where ExitFiles reads it, signals included. */
    @Test
    void theExecWrapperKeepsTheExitStatusOfWhatItRuns(@TempDir Path dir) throws Exception {
        for (String[] run : new String[][] {{"exit 7", "7"}, {"kill -TERM $$", "143"}}) {
            Path file = dir.resolve("exec-" + run[1] + ".exit");
            Process p = new ProcessBuilder("/bin/sh", "-c", Runsc.RECORD_EXIT, "kuasar-runsc-exec", file.toString(),
                    "/bin/sh", "-c", run[0]).start();
            assertEquals(Integer.parseInt(run[1]), p.waitFor(), run[0]);
            io.kuasar.spi.ExitStatus e = io.kuasar.driver.kit.ExitFiles.read(file, 1).orElseThrow();
            assertEquals(Integer.parseInt(run[1]), e.code(), run[0]);
            assertTrue(Duration.between(e.exitedAt(), java.time.Instant.now()).abs().toSeconds() < 60, e::toString);
        }
    }
}
