package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kuasar.driver.kit.testing.TempHostPaths;
import io.kuasar.host.internal.KeeperExitRecords;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskEvents;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the driver's tests need to run real gVisor pods without containerd: runsc, busybox as every container's
 * root file system, driver instances on one state directory. {@link #require} skips the test on a host without them.
 */
final class RealGvisor {
    private final Path tmp;
    private final Path runsc;
    final HostPaths paths;
    final RunscSettings settings;

    private RealGvisor(Path tmp, Path runsc) throws IOException {
        this.tmp = tmp;
        this.runsc = runsc;
        this.paths = new TempHostPaths(tmp);
        this.settings = new RunscSettings(runsc.toString(), null, "", "host", null, null,
                Files.createDirectories(tmp.resolve("log")), Duration.ofSeconds(2));
    }

    /** Skips the calling test without root (uid 0), runsc or /bin/busybox. */
    static RealGvisor require(Path tmp) throws IOException {
        // The uid, not the user's name: root may be called otherwise, and another user may be called root.
        assumeTrue((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0, "needs root (uid 0)");
        Path runsc = onPath("runsc");
        assumeTrue(runsc != null, "needs runsc: not on PATH, nor in /usr/sbin, /sbin");
        assumeTrue(Files.isExecutable(Path.of("/bin/busybox")), "needs /bin/busybox (package busybox-static)");
        return new RealGvisor(tmp, runsc);
    }

    /** A driver instance on this fixture's state and run directories, publishing to {@code events}. */
    RunscDriver driver(TaskEvents events) throws IOException {
        return new RunscDriver(events, paths, new KeeperExitRecords((Path) null), settings, new Reaper());
    }

    static SandboxSpec pod(String id) {
        return new SandboxSpec(id, "k8s.io", "", List.of(), null, null, Map.of(), Map.of());
    }

    /**
     * A container {@code id} whose bundle has busybox as its root and runs {@code "echo up; exec busybox sleep 300"},
     * its stdout and stderr appended to {@code out}.
     */
    TaskSpec container(String id, Path out) throws IOException {
        Path bundle = tmp.resolve("bundle-" + id);
        Files.createDirectories(bundle.resolve("rootfs/bin"));
        Files.copy(Path.of("/bin/busybox"), bundle.resolve("rootfs/bin/busybox"));
        Files.writeString(bundle.resolve("config.json"), "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":"
                + "[\"/bin/busybox\",\"sh\",\"-c\",\"echo up; exec /bin/busybox sleep 300\"],\"cwd\":\"/\","
                + "\"env\":[\"PATH=/bin\"],\"user\":{\"uid\":0,\"gid\":0}},\"root\":{\"path\":\"rootfs\"},"
                + "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}]}}");
        if (!Files.exists(out)) {
            Files.createFile(out);
        }
        return new TaskSpec(id, bundle.toString(), List.of(), new Stdio("", out.toString(), out.toString(), false),
                "", "", null);
    }

    /** An exec's process spec (containerd's OCI Process): {@code script} run by busybox's sh. */
    static TypedData process(String script) {
        return new TypedData("types.containerd.io/opencontainers/runtime-spec/1/Process", ("{\"args\":"
                + "[\"/bin/busybox\",\"sh\",\"-c\",\"" + script + "\"],\"cwd\":\"/\",\"env\":[\"PATH=/bin\"],"
                + "\"user\":{\"uid\":0,\"gid\":0}}").getBytes(StandardCharsets.UTF_8));
    }

    /** runsc itself, outside any driver instance, on the runsc root of pod {@code podId}; its output. */
    String runscOf(String podId, String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(runsc.toString(),
                "--root=" + paths.runDir("quark").resolve("runsc/pods").resolve(podId).resolve("root")));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException(argv + " failed: " + out);
        }
        return out;
    }

    /** The executable {@code name} on PATH, else in /usr/sbin or /sbin; null when there is none. */
    private static Path onPath(String name) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/sbin"));
        return dirs.stream().filter(d -> !d.isEmpty()).map(d -> Path.of(d, name))
                .filter(p -> Files.isRegularFile(p) && Files.isExecutable(p)).findFirst().orElse(null);
    }
}
