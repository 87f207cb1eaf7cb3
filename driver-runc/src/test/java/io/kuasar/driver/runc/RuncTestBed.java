package io.kuasar.driver.runc;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.driver.kit.Commands;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.testing.TempHostPaths;
import io.kuasar.driver.runc.process.Mounts;
import io.kuasar.host.internal.KeeperExitRecords;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.Mount;
import io.kuasar.spi.OrphanExits;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TypedData;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * What the driver's tests against real runc stand on: a temp dir with a busybox image, a pinned network namespace
 * as CNI makes one, host paths, and bundles and process specs written as containerd and CRI write them. Needs root,
 * runc and busybox-static ({@link #possible()}).
 */
final class RuncTestBed implements AutoCloseable {
    static final String NEEDS = "needs root (uid 0), runc on PATH or in /usr/sbin, /sbin, and /bin/busybox"
            + " (packages runc, busybox-static)";
    private static final Path BUSYBOX = Path.of("/bin/busybox");
    /** The runc the tests and their drivers run: the packaged one, else the first on PATH, /usr/sbin or /sbin. */
    static final Path RUNC = findRunc();
    static final long JVM = ProcessHandle.current().pid();
    /** The tests run the driver in their own JVM, under no keeper. */
    static final OrphanExits NO_KEEPER = new KeeperExitRecords((Path) null);

    private final ObjectMapper json = new ObjectMapper();
    final Path tmp;
    final Path netns;
    final HostPaths paths;

    RuncTestBed() throws Exception {
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
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/sbin"));
        return dirs.stream().filter(d -> !d.isEmpty()).map(d -> Path.of(d, "runc"))
                .filter(p -> Files.isRegularFile(p) && Files.isExecutable(p)).findFirst().orElse(null);
    }

    static RuncSettings settings() {
        return new RuncSettings(RUNC.toString(), Duration.ofSeconds(2));
    }

    /** A pod sharing its PID namespace, with the pinned netns, as CRI creates one. */
    SandboxSpec pod(String id, String uid) {
        PodConfig pod = new PodConfig("web", "default", uid, "kuasar-pod", "", PodConfig.NamespaceMode.POD,
                PodConfig.NamespaceMode.POD, PodConfig.NamespaceMode.POD, "", Map.of(), List.of(), List.of(),
                List.of());
        return new SandboxSpec(id, "k8s.io", netns.toString(), List.of(), pod, TypedData.EMPTY, Map.of(), Map.of());
    }

    Path bundle(String id) {
        return tmp.resolve("bundles").resolve(id);
    }

    /** A bundle as containerd would prepare it: runc's default spec adjusted the way CRI writes it. */
    TaskSpec task(String id, String stdin, String stdout, String script) throws Exception {
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

    TypedData processJson(String script) throws Exception {
        Map<String, Object> p = Map.of("args", List.of("/bin/sh", "-c", script), "cwd", "/", "env",
                List.of("PATH=/bin"), "user", Map.of("uid", 0, "gid", 0), "terminal", false);
        return new TypedData("types.containerd.io/opencontainers/runtime-spec/1/Process", json.writeValueAsBytes(p));
    }

    Path fifo(String name) throws IOException {
        Path f = tmp.resolve(name);
        Commands.run(List.of("mkfifo", f.toString()), 10);
        return f;
    }

    /** Reads the FIFO to EOF on another thread (opening it blocks until the container side opens it). */
    static CompletableFuture<String> readFifo(Path f) {
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

    static List<Path> listTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (var s = Files.walk(dir)) {
            return s.filter(p -> !p.equals(dir)).toList();
        }
    }

    /** Unmounts the test's netns and removes the temp dir. */
    @Override
    public void close() throws IOException {
        Mounts.unmountAll(netns);
        Mounts.unmountAll(netns.getParent());
        HostFiles.deleteTree(tmp);
    }
}
