package io.kuasar.host.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** StrictModes for the node's places, and "another node serves there". Runs under /tmp (root-owned, sticky). */
class NodeDirectoriesTest {
    @TempDir
    Path dir;

    private final int self = NodeDirectories.selfUid();

    @Test
    void aPrivateDirectoryBelowStickyTmpPasses() throws IOException {
        Path node = Files.createDirectory(dir.resolve("node"));
        Files.setPosixFilePermissions(node, PosixFilePermissions.fromString("rwx------"));
        NodeDirectories.requireSafe(node.resolve("state/not-yet-made"), self);
    }

    @Test
    void aGroupWritableDirectoryOrParentIsRefusedNamingIt() throws IOException {
        Path node = Files.createDirectory(dir.resolve("node"));
        Files.setPosixFilePermissions(node, PosixFilePermissions.fromString("rwxrwx---"));
        String m = assertThrows(IOException.class,
                () -> NodeDirectories.requireSafe(node.resolve("state"), self)).getMessage();
        assertTrue(m.contains("refusing " + node.toRealPath()) && m.contains("writable by group"), m);
    }

    @Test
    void aStickyWorldWritableDirectoryIsAcceptedAsAParentOnly() throws IOException {
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setAttribute(shared, "unix:mode", 01777);
        assertThrows(IOException.class, () -> NodeDirectories.requireSafe(shared, self), "itself: refused");
        if (self == 0) { // sticky parents count only when root owns them, as /tmp
            Path node = Files.createDirectory(shared.resolve("node"));
            NodeDirectories.requireSafe(node, self);
        }
    }

    @Test
    void aDirectoryOwnedByAnotherUserIsRefused() throws IOException {
        Path node = Files.createDirectory(dir.resolve("node"));
        if (self != 0) {
            return; // only root can give a directory away
        }
        Files.setAttribute(node, "unix:uid", 65534);
        String m = assertThrows(IOException.class, () -> NodeDirectories.requireSafe(node, self)).getMessage();
        assertTrue(m.contains("owned by uid 65534"), m);
    }

    @Test
    void aSocketALiveProcessListensOnMeansAnotherNodeServesThere() throws IOException {
        Path node = Files.createDirectory(dir.resolve("node"));
        Path socket = node.resolve("kuasar.sock");
        Map<String, String> settings = Map.of("kuasar.state.dir", node.resolve("state").toString(),
                "kuasar.run.dir", node.resolve("run").toString(), "kuasar.config.dir", node.resolve("config").toString(),
                "kuasar.listen", socket.toString());
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            List<String> problems = NodeDirectories.problems(settings, self);
            assertEquals(1, problems.size(), problems::toString);
            assertTrue(problems.get(0).startsWith("another node serves on " + socket), problems::toString);
        }
        assertTrue(Files.exists(socket), "a stale socket file is left for the node to replace");
        assertFalse(NodeDirectories.listening(socket));
        assertEquals(List.of(), NodeDirectories.problems(settings, self));
    }
}
