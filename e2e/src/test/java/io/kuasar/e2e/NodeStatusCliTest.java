package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * {@code kuasar status} and {@code kuasar doctor} as an operator runs them after the scripts started the node: no
 * socket named (found through the scripts' node dir), the lines checked against what the host and the node really
 * have: the JVM's and the keeper's pids, the pods of runc against the node's own list, the runc version as runc says
 * it, the cgroup version as /proc/self/mounts has it, the containerd config's proxy plugin, the admin socket's mode.
 */
class NodeStatusCliTest extends CriTestBase {

    @Test
    void statusFindsTheNodeAndSaysHowItIs() throws Exception {
        PodSandboxConfig pod = podConfig("status");
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        String id = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(id, ContainerState.CONTAINER_RUNNING, WAIT);

        NodeCli.Result status = cli().discovering("status");
        assertEquals(0, status.code(), status::toString);
        String listen = "-Dkuasar.listen=" + env.sandboxerSock();
        long jvm = ProcessHandle.allProcesses().filter(p -> cmdline(p).contains(listen) && cmdline(p).contains("java"))
                .filter(p -> !cmdline(p).contains("kuasar-keeper")).findFirst()
                .orElseThrow(() -> new AssertionError("no node JVM")).pid();
        assertTrue(line(status, "node: ").startsWith("node: io.kuasar.host 0.1.0"), status::toString);
        assertTrue(line(status, "node: ").contains(", pid " + jvm + ", up "), status::toString);

        long pidFile = Long.parseLong(Files.readString(env.nodeDir().resolve("kuasar.pid")).trim());
        boolean keeper = cmdline(ProcessHandle.of(pidFile).orElseThrow()).contains("kuasar-keeper");
        String expected = keeper ? "keeper: running, pid " + pidFile + "," : "keeper: none";
        assertTrue(line(status, "keeper: ").startsWith(expected), status::toString);

        NodeCli.Result sandboxes = cli().admin("sandboxes");
        long runc = sandboxes.out().lines().filter(l -> l.contains(" runc ")).count();
        assertTrue(runc >= 1, sandboxes::toString);
        assertTrue(line(status, "pods: ").contains(", runc " + runc + ","), () -> status + "\n" + sandboxes);
        assertTrue(line(status, "containerd calls: ").startsWith("containerd calls: last "), status::toString);
        assertTrue(status.out().lines().anyMatch(l -> l.trim().matches("runc\\s+io\\.kuasar\\.driver\\.runc\\s+\\S+\\s+"
                + "ACTIVE\\s+serving\\s+" + runc)), status::toString);
        assertTrue(line(status, "metrics: ").startsWith("metrics: http://127.0.0.1:"), status::toString);
    }

    @Test
    void withoutANodeTheErrorSaysWhereItLooked() throws Exception {
        Path empty = Files.createTempDirectory(logRoot, "no-node");
        NodeCli.Result r = cli().discoveringFrom(empty, "status");
        assertEquals(1, r.code(), r::toString);
        assertTrue(r.err().contains("looked at: " + empty.resolve("kuasar/run/admin.sock") + " (no such socket), "
                + "/run/kuasar/admin.sock ("), r::toString);
    }

    @Test
    void doctorSaysWhatTheHostHas() throws Exception {
        NodeCli.Result doctor = cli().discovering("doctor", "--containerd-config",
                env.nodeDir().resolve("containerd.toml").toString());
        boolean failed = doctor.out().lines().anyMatch(l -> l.startsWith("FAIL"));
        assertEquals(failed ? 1 : 0, doctor.code(), doctor::toString);

        Path runcBin = Path.of(Optional.ofNullable(System.getenv("KUASAR_RUNC_BIN")).orElse("/usr/sbin/runc"));
        String runcVersion = firstLine(runcBin, "--version");
        assertTrue(line(doctor, "OK   runc ").endsWith(": " + runcVersion), doctor::toString);

        List<String> mounts = Files.readAllLines(Path.of("/proc/self/mounts"));
        boolean v1 = mounts.stream().anyMatch(l -> l.split(" ")[2].equals("cgroup"));
        assertTrue(line(doctor, "OK   cgroups ").contains(v1 ? " v1" : " v2 (/sys/fs/cgroup)"), doctor::toString);

        assertTrue(doctor.out().lines().anyMatch(l -> l.matches("OK +containerd +proxy plugin runc -> "
                + java.util.regex.Pattern.quote(env.sandboxerSock().toString()) + ", handlers kuasar-runc")),
                doctor::toString);
        assertTrue(line(doctor, "OK   admin ").contains(cli().adminSocket() + " mode 0600"), doctor::toString);
        boolean kvm;
        try (FileChannel c = FileChannel.open(Path.of("/dev/kvm"), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            kvm = true;
        } catch (IOException e) {
            kvm = false;
        }
        assertTrue(doctor.out().lines().anyMatch(l -> l.startsWith("OK   kvm")) == kvm, doctor::toString);
    }

    private static String line(NodeCli.Result r, String prefix) {
        return r.out().lines().filter(l -> l.startsWith(prefix)).findFirst()
                .orElseThrow(() -> new AssertionError("no line starting '" + prefix + "' in\n" + r));
    }

    private static String cmdline(ProcessHandle p) {
        return String.join(" ", Processes.argv(p.pid()));
    }

    private static String firstLine(Path tool, String arg) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(tool.toString(), arg).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out.lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst().orElse("");
    }

    private NodeCli cli() {
        return new NodeCli(env, logRoot);
    }
}
