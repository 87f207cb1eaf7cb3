package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.Mount;
import io.kuasar.api.cri.v1.MountPropagation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Volumes as CRI hands them over (critest "Mounts"): host directories and files bound read-write and read-only, a
 * directory shared by two containers of a pod (emptyDir), a tmpfs-backed one (emptyDir medium Memory, which the
 * kubelet mounts on the host), and mount propagation. This host's / is a private mount (FACTS.md), so the
 * HostToContainer and Bidirectional tests make their source directory a shared mount of its own first, as the
 * kubelet's volume plugins would.
 */
class CriMountsTest extends CriParityTestBase {
    /** Host mounts a test made, unmounted in reverse order after the test (the pods are gone by then or not). */
    private final Deque<Path> hostMounts = new ArrayDeque<>();

    @AfterEach
    void unmountHostMounts() throws IOException {
        IOException first = null;
        while (!hostMounts.isEmpty()) {
            try {
                host("umount", "-l", hostMounts.pop().toString());
            } catch (IOException e) {
                first = first == null ? e : first; // keep going: the outer mounts must go too
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @OnParityHandlers
    void readWriteBindMountIsSharedWithTheHost(String handler) throws IOException {
        Path dir = hostDir("rw");
        Files.writeString(dir.resolve("in"), "from-host\n");
        Pod p = pod("rw", handler);
        assertEquals("from-host\n", p.output(mounting(container("rw"), bind(dir, "/data", false)),
                "cat /data/in; echo from-container > /data/out"));
        assertEquals("from-container\n", Files.readString(dir.resolve("out")));
    }

    @OnParityHandlers
    void readOnlyBindMountRefusesWrites(String handler) throws IOException {
        Path dir = hostDir("ro");
        Files.writeString(dir.resolve("in"), "read-only-content\n");
        Pod p = pod("ro", handler);
        String out = p.output(mounting(container("ro"), bind(dir, "/data", true)),
                "cat /data/in; touch /data/out 2>&1; echo rc=$?");
        assertTrue(out.startsWith("read-only-content\n") && out.contains("Read-only file system") && out.endsWith("rc=1\n"), out);
        assertTrue(Files.notExists(dir.resolve("out")));
    }

    @OnParityHandlers
    void hostFileIsMountedOverAPathInTheImage(String handler) throws IOException {
        Path file = hostDir("file").resolve("app.conf");
        Files.writeString(file, "key=value\n");
        Pod p = pod("file", handler);
        assertEquals("key=value\n-\n", p.output(mounting(container("file"), bind(file, "/etc/app.conf", true)),
                "cat /etc/app.conf; test -f /etc/app.conf && echo -"));
    }

    @OnParityHandlers
    void directoryMountedIntoTwoContainersOfThePodIsSharedLikeAnEmptyDir(String handler) {
        Path dir = hostDir("empty");
        Pod p = pod("emptydir", handler);
        String writer = p.running(mounting(sleeper("writer"), bind(dir, "/cache", false)));
        sh(writer, "echo written-by-writer > /cache/note");
        assertEquals("written-by-writer\n", p.output(mounting(container("reader"), bind(dir, "/scratch", false)),
                "cat /scratch/note"));
    }

    @OnParityHandlers
    void tmpfsBackedDirectoryIsMountedAsTmpfs(String handler) throws IOException {
        Path dir = hostDir("memory");
        host("mount", "-t", "tmpfs", "-o", "size=1m", "kuasar-e2e-tmpfs", dir.toString());
        hostMounts.push(dir);
        Pod p = pod("tmpfs", handler);
        String out = p.output(mounting(container("tmpfs"), bind(dir, "/mem", false)), "cat " + BOOT_ID
                + "; awk '$2==\"/mem\"{print $3}' /proc/mounts; echo in-memory > /mem/f; cat /mem/f");
        String bootId = out.substring(0, out.indexOf('\n'));
        // A VM guest reaches the host's tmpfs through its share device, so its own mount table names the share's
        // file system: there, what shows the memory backing is the file landing in the host's tmpfs (below).
        String expected = bootId.equals(hostBootId()) ? "tmpfs\nin-memory\n" : "in-memory\n";
        assertTrue(out.endsWith("\n" + expected), out);
        assertEquals("in-memory\n", Files.readString(dir.resolve("f")));
    }

    @OnParityHandlers
    void privatePropagationHidesMountsTheHostMakesLater(String handler) throws IOException {
        Path dir = sharedHostDir("private");
        Pod p = pod("private", handler);
        String id = p.running(mounting(sleeper("private"), bind(dir, "/data", false)));
        Path sub = Files.createDirectories(dir.resolve("sub"));
        host("mount", "-t", "tmpfs", "kuasar-e2e-later", sub.toString());
        hostMounts.push(sub);
        Files.writeString(sub.resolve("f"), "later\n");
        assertEquals("", sh(id, "awk '$2==\"/data/sub\"' /proc/mounts; cat /data/sub/f 2>/dev/null; true"));
    }

    @OnParityHandlers
    void hostToContainerPropagationShowsMountsTheHostMakesLater(String handler) throws IOException {
        Path dir = sharedHostDir("h2c");
        Pod p = pod("h2c", handler);
        String id = p.running(mounting(sleeper("h2c"), bind(dir, "/data", false).toBuilder()
                .setPropagation(MountPropagation.PROPAGATION_HOST_TO_CONTAINER).build()));
        Path sub = Files.createDirectories(dir.resolve("sub"));
        host("mount", "-t", "tmpfs", "kuasar-e2e-later", sub.toString());
        hostMounts.push(sub);
        Files.writeString(sub.resolve("f"), "later\n");
        if (onHostKernel(id)) {
            assertEquals("tmpfs\nlater\n", sh(id, "awk '$2==\"/data/sub\"{print $3}' /proc/mounts; cat /data/sub/f"));
        } else { // a VM guest sees the host's new mount through its share device: its files, not a mount of its own
            assertEquals("later\n", sh(id, "cat /data/sub/f"));
        }
    }

    @OnParityHandlers
    void bidirectionalPropagationShowsTheContainersMountsOnTheHost(String handler) throws IOException {
        Path dir = sharedHostDir("bidi");
        Files.createDirectories(dir.resolve("sub"));
        // Mounting inside the container needs CAP_SYS_ADMIN, and CRI allows Bidirectional only for privileged ones.
        Pod p = pod(securedPod(podConfig("bidi"), s -> s.setPrivileged(true)), handler);
        ContainerConfig c = secured(mounting(sleeper("bidi"), bind(dir, "/data", false).toBuilder()
                .setPropagation(MountPropagation.PROPAGATION_BIDIRECTIONAL).build()), s -> s.setPrivileged(true));
        String id = p.running(c);
        sh(id, "mount -t tmpfs kuasar-e2e-inner /data/sub && echo from-container > /data/sub/f");
        hostMounts.push(dir.resolve("sub"));
        assertEquals("from-container\n", Files.readString(dir.resolve("sub/f")));
        // The unmount propagates back too: the host sees the plain directory again.
        sh(id, "umount /data/sub");
        assertTrue(Files.notExists(dir.resolve("sub/f")), "the container's unmount reached the host");
        hostMounts.pop();
    }

    /** What kuasar-vmm does instead of the test above (VmmLimits): refuse, saying why. */
    @Test
    void bidirectionalPropagationIsRefusedOnAVmPod() throws IOException {
        HostTools.requireHandler(VMM);
        Path dir = sharedHostDir("bidi-vm");
        Pod p = pod(securedPod(podConfig("bidi-vm"), s -> s.setPrivileged(true)), VMM);
        ContainerConfig c = secured(mounting(sleeper("bidi-vm"), bind(dir, "/data", false).toBuilder()
                .setPropagation(MountPropagation.PROPAGATION_BIDIRECTIONAL).build()), s -> s.setPrivileged(true));
        io.grpc.StatusRuntimeException e = failure(() -> cri.runContainer(p.id, p.config, c));
        assertTrue(e.getMessage().contains("Bidirectional") && e.getMessage().contains("cannot reach the host"),
                e.getMessage());
    }

    private static Mount bind(Path hostPath, String containerPath, boolean readOnly) {
        return Mount.newBuilder().setHostPath(hostPath.toString()).setContainerPath(containerPath)
                .setReadonly(readOnly).build();
    }

    private static ContainerConfig mounting(ContainerConfig c, Mount m) {
        return c.toBuilder().addMounts(m).build();
    }

    /** A host directory that is a shared mount of itself, so mounts below it propagate to and from its peers. */
    private Path sharedHostDir(String name) throws IOException {
        Path dir = hostDir(name);
        host("mount", "--bind", dir.toString(), dir.toString());
        hostMounts.push(dir);
        host("mount", "--make-shared", dir.toString());
        return dir;
    }

    private static void host(String... argv) throws IOException {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(List.of(argv) + " did not finish");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(List.of(argv) + " failed: " + out);
        }
    }
}
