package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What a pod's containers share through the pod rather than the image (critest "Sysctls", "/dev/shm"): namespaced
 * sysctls set once for the pod (network ones in its netns, IPC ones in its IPC namespace) and one /dev/shm per pod.
 */
class CriPodSysctlsAndShmTest extends CriParityTestBase {

    @OnParityHandlers
    void namespacedSysctlsOfThePodAreSeenByItsContainersAndNotByTheHost(String handler) throws IOException {
        Path unprivPort = Path.of("/proc/sys/net/ipv4/ip_unprivileged_port_start");
        Path msgmax = Path.of("/proc/sys/kernel/msgmax");
        long hostPort = Long.parseLong(HostTools.procLine(unprivPort));
        long hostMsgmax = Long.parseLong(HostTools.procLine(msgmax));
        // Next to the host's values, so they differ from them, and not a fresh namespace's defaults (1024 and 8192),
        // so a pod that got fresh namespaces without its sysctls shows. The port must stay below a fresh netns's
        // ip_local_port_range start (32768), which the kernel enforces.
        long port = neighbour(hostPort, 0, 32767, 1024);
        long msg = neighbour(hostMsgmax, 0, Integer.MAX_VALUE, 8192);
        PodSandboxConfig config = podConfig("sysctl").toBuilder().setLinux(podConfig("sysctl").getLinux().toBuilder()
                .putSysctls("net.ipv4.ip_unprivileged_port_start", Long.toString(port))
                .putSysctls("kernel.msgmax", Long.toString(msg))).build();
        Pod p = pod(config, handler);
        String first = p.running(sleeper("first"));
        assertEquals(port + "\n", sh(first, "cat " + unprivPort));
        assertEquals(msg + "\n", sh(first, "cat " + msgmax));
        // A later container of the pod joins the same namespaces, so it sees them too.
        String later = p.output(container("later"), "cat " + unprivPort + " " + msgmax);
        assertEquals(port + "\n" + msg + "\n", later);
        assertEquals(hostPort, Long.parseLong(HostTools.procLine(unprivPort)), "the host's value is untouched");
        assertEquals(hostMsgmax, Long.parseLong(HostTools.procLine(msgmax)), "the host's value is untouched");
    }

    /** {@code host} plus or minus one, within [min, max] and other than {@code avoid}. */
    private static long neighbour(long host, long min, long max, long avoid) {
        for (long v : new long[] {host + 1, host - 1, host + 2, host - 2}) {
            if (v >= min && v <= max && v != avoid) {
                return v;
            }
        }
        throw new IllegalStateException("no value next to " + host + " in [" + min + ", " + max + "]");
    }

    /** A sysctl that is not namespaced would change the node: both handlers refuse the pod, naming it. */
    @OnParityHandlers
    void sysctlThatIsNotNamespacedIsRefusedAtRunPodSandbox(String handler) throws IOException {
        PodSandboxConfig config = podConfig("badsysctl").toBuilder().setLinux(podConfig("badsysctl").getLinux()
                .toBuilder().putSysctls("kernel.panic", "7")).build();
        Set<String> pinnedBefore = kuasarPodDirs();
        io.grpc.StatusRuntimeException e = failure(() -> runPod(config, handler));
        assertTrue(e.getMessage().contains("kernel.panic") && e.getMessage().contains("namespace"), e.getMessage());
        // containerd forgets a pod whose start failed without calling Shutdown: the node must not keep it either.
        assertEquals(pinnedBefore, kuasarPodDirs(), "namespace dirs of the refused pod left on the node");
        assertEquals(List.of(), kuasarStateNaming(runTag), "state of the refused pod left on the node");
    }

    /** A network sysctl in a host-network pod would change the node's network: refused too. */
    @OnParityHandlers
    void networkSysctlOfAHostNetworkPodIsRefused(String handler) throws IOException {
        PodSandboxConfig plain = podConfig("hostnetsysctl");
        PodSandboxConfig config = securedPod(plain.toBuilder().clearHostname().setLinux(plain.getLinux().toBuilder()
                .putSysctls("net.ipv4.ip_unprivileged_port_start", "81")).build(), s -> s.setNamespaceOptions(
                CriClient.KUBELET_NAMESPACES.toBuilder().setNetwork(io.kuasar.api.cri.v1.NamespaceMode.NODE)));
        io.grpc.StatusRuntimeException e = failure(() -> runPod(config, handler));
        assertTrue(e.getMessage().contains("net.ipv4.ip_unprivileged_port_start"), e.getMessage());
        assertEquals(List.of(), kuasarStateNaming(runTag), "state of the refused pod left on the node");
    }

    /** The runc driver's per-pod namespace dirs (run/runc/ns/ID) now. */
    private Set<String> kuasarPodDirs() throws IOException {
        Path ns = env.kuasarRunDir().resolve("runc/ns");
        if (!Files.isDirectory(ns)) {
            return Set.of();
        }
        try (Stream<Path> s = Files.list(ns)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    /** Files of the node's state dir that mention {@code text} (our pods' labels carry the run tag). */
    private List<Path> kuasarStateNaming(String text) throws IOException {
        if (!Files.isDirectory(env.kuasarStateDir())) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(env.kuasarStateDir())) {
            return s.filter(Files::isRegularFile).filter(p -> {
                try {
                    return Files.readString(p).contains(text);
                } catch (IOException | java.io.UncheckedIOException ex) {
                    return false; // not text, or gone meanwhile
                }
            }).toList();
        }
    }

    @OnParityHandlers
    void devShmIsATmpfsSharedByThePodsContainersAndNotByOtherPods(String handler) {
        Pod p = pod("shm", handler);
        String writer = p.running(sleeper("writer"));
        assertEquals("tmpfs\n", sh(writer, "awk '$2==\"/dev/shm\"{print $3}' /proc/mounts"));
        sh(writer, "echo shared-" + handler + " > /dev/shm/note");
        assertEquals("shared-" + handler + "\n", p.output(container("reader"), "cat /dev/shm/note"));

        Pod other = pod("shm-other", handler);
        String outsider = other.running(sleeper("outsider"));
        assertNotEquals(0, execSync(outsider, "test", "-e", "/dev/shm/note").getExitCode(),
                "another pod sees this pod's /dev/shm");
    }
}
