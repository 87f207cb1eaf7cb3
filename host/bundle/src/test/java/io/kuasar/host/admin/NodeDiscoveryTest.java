package io.kuasar.host.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the command line finds its node: named sockets win; else the scripts' node dir, then the unit's. */
class NodeDiscoveryTest {
    @TempDir
    Path dir;

    private final int self = NodeDirectories.selfUid();

    /** Where the systemd unit's socket would be: no unit runs there. */
    private Path unit() {
        return dir.resolve("unit/admin.sock");
    }

    @Test
    void aNamedSocketWinsInOrder() {
        Map<String, String> env = Map.of("KUASAR_ADMIN_SOCKET", "/e.sock", "KUASAR_NODE_DIR", dir.toString());
        assertEquals(Path.of("/p.sock"), NodeDiscovery.find(Map.of("kuasar.admin.socket", "/p.sock"), env, self).socket());
        assertEquals(Path.of("/e.sock"), NodeDiscovery.find(Map.of("kuasar.run.dir", "/r"), env, self).socket());
        assertEquals(Path.of("/r/admin.sock"), NodeDiscovery.find(Map.of("kuasar.run.dir", "/r"),
                Map.of(), self).socket());
    }

    @Test
    void theScriptsNodeIsFoundWhenItAnswersAndNamedWhenItDoesNot() throws IOException {
        Path run = Files.createDirectories(dir.resolve("kuasar/run"));
        Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwx------"));
        Path sock = run.resolve("admin.sock");
        Map<String, String> env = Map.of("KUASAR_NODE_DIR", dir.toString());
        NodeDiscovery.Found none = NodeDiscovery.find(Map.of(), env, self, unit());
        assertNull(none.socket());
        assertTrue(none.problem().contains("looked at: " + sock + " (no such socket), " + unit() + " (no such socket)"),
                none::problem);
        try (ServerSocketChannel node = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            node.bind(UnixDomainSocketAddress.of(sock));
            assertEquals(sock, NodeDiscovery.find(Map.of(), env, self, unit()).socket());
        }
        // the socket file stays behind after its node is gone: stale, not taken
        assertTrue(NodeDiscovery.find(Map.of(), env, self, unit()).problem().contains(sock + " (nobody listens on it)"));
    }

    @Test
    void aSocketInADirectoryOthersCanChangeIsNotTalkedTo() throws IOException {
        Path run = Files.createDirectories(dir.resolve("kuasar/run"));
        Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path sock = run.resolve("admin.sock");
        try (ServerSocketChannel node = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            node.bind(UnixDomainSocketAddress.of(sock));
            NodeDiscovery.Found f = NodeDiscovery.find(Map.of(), Map.of("KUASAR_NODE_DIR", dir.toString()), self, unit());
            assertNull(f.socket());
            assertTrue(f.problem().contains(sock + " (not used: refusing " + run.toRealPath()), f::problem);
        }
    }
}
