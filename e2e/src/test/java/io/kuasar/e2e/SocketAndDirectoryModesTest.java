package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Only root may talk to the node or reach its state: the sandboxer socket and every Task API socket are 0600
 * and owned by root, the node's state and run roots, the runc driver's dirs, the task socket dir, the drivers drop-in
 * folder and the config dir (trust store, 0600) are 0700.
 */
class SocketAndDirectoryModesTest extends CriTestBase {

    @Test
    void sandboxerAndTaskSocketsAre0600RootAndTheRuncDriversDirsAre0700() throws IOException {
        // A running pod, so that there is a task socket to look at.
        PodSandboxConfig pod = podConfig("modes");
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        String id = cri.runContainer(podId, pod, CriClient.containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(id, ContainerState.CONTAINER_RUNNING, WAIT);

        assertSocket(env.sandboxerSock());
        Set<Path> taskSockets = HostTraces.taskSockets(env);
        assertFalse(taskSockets.isEmpty(), "no Task API socket in " + env.kuasarRunDir().resolve("task"));
        for (Path socket : taskSockets) {
            assertSocket(socket);
        }
        assertDir0700(env.kuasarStateDir());
        assertDir0700(env.kuasarRunDir());
        assertDir0700(env.kuasarStateDir().resolve("runc"));
        assertDir0700(env.kuasarRunDir().resolve("runc"));
        assertDir0700(env.kuasarRunDir().resolve("task"));
        // Where drivers and trust come from (issue 13): the drop-in folder and the trust store's directory.
        assertDir0700(env.nodeDir().resolve("kuasar/drivers"));
        assertDir0700(env.nodeDir().resolve("kuasar/config"));
        Path trustStore = env.nodeDir().resolve("kuasar/config/trust.p12");
        if (Files.exists(trustStore)) {
            assertEquals("600", Integer.toOctalString(HostTraces.mode(trustStore) & 07777), "mode of " + trustStore);
            assertRoot(trustStore);
        }
        // The sandboxer socket is bound in a private directory beside it and renamed into place: none is left.
        try (var files = Files.list(env.sandboxerSock().getParent())) {
            List<Path> binds = files.filter(p -> p.getFileName().toString().startsWith(".b")).toList();
            assertEquals(List.of(), binds, "temporary bind directories left in the node dir");
        }
    }

    private static void assertSocket(Path socket) throws IOException {
        int mode = HostTraces.mode(socket);
        assertEquals(HostTraces.S_IFSOCK, mode & HostTraces.S_IFMT, () -> socket + " is a socket");
        assertEquals("600", Integer.toOctalString(mode & 07777), () -> "mode of " + socket);
        assertRoot(socket);
    }

    private static void assertDir0700(Path dir) throws IOException {
        assertTrue(Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS), () -> dir + " is a directory");
        assertEquals("700", Integer.toOctalString(HostTraces.mode(dir) & 07777), () -> "mode of " + dir);
        assertRoot(dir);
    }

    private static void assertRoot(Path p) throws IOException {
        assertEquals(0, (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS), () -> "owner of " + p);
        assertEquals(0, (Integer) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS), () -> "group of " + p);
    }
}
