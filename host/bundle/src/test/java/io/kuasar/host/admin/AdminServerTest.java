package io.kuasar.host.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin socket and the command line together, with a recording handler instead of the node. */
class AdminServerTest {
    @TempDir
    Path dir;
    private final List<AdminProtocol.Request> seen = new CopyOnWriteArrayList<>();
    private AdminServer server;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @AfterEach
    void close() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    private Path start(AdminServer.Handler handler) throws Exception {
        server = new AdminServer(dir.resolve("run/admin.sock"), r -> {
            seen.add(r);
            return handler.handle(r);
        }, AdminServer.rootOrSelf());
        return server.socket();
    }

    private int cli(String... args) {
        out.reset();
        err.reset();
        return AdminClient.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), Map.of());
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void theSocketIs0600InA0700Directory() throws Exception {
        Path socket = start(r -> List.of());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket.getParent())));
        server.close();
        assertFalse(Files.exists(socket), "closing removes the socket");
        server = null;
    }

    @Test
    void aDirectoryOpenToOthersIsRefusedAndLeftAlone() throws Exception {
        Path open = Files.createDirectory(dir.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
        java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> new AdminServer(open.resolve("admin.sock"), r -> List.of(), AdminServer.rootOrSelf()));
        assertTrue(e.getMessage().contains("0700"), e.getMessage());
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(open)));
        assertFalse(Files.exists(open.resolve("admin.sock")));
    }

    @Test
    void textLinesThenOkExitZero() throws Exception {
        Path socket = start(r -> List.of("SANDBOXER BUNDLE", "runc io.kuasar.driver.runc", "OK", "ERR not the end"));
        assertEquals(0, cli("--admin-socket", socket.toString(), "drivers"), err());
        assertEquals("SANDBOXER BUNDLE\nrunc io.kuasar.driver.runc\nOK\nERR not the end\n", out());
        assertEquals(List.of(new AdminProtocol.Request("drivers", List.of())), seen);
    }

    @Test
    void aFailureIsErrOnStderrAndExitOne() throws Exception {
        Path socket = start(r -> {
            throw new IllegalStateException("driver runc has 1 sandbox(es); stop them first,\nor: remove runc --force");
        });
        assertEquals(1, cli("--admin-socket=" + socket, "remove", "runc"));
        assertEquals("", out());
        assertTrue(err().contains("remove: driver runc has 1 sandbox(es); stop them first,; or: remove runc --force"),
                err());
        assertFalse(seen.get(0).force());
    }

    @Test
    void fileArgumentsAreSentAbsoluteAndForceIsPassed() throws Exception {
        Path socket = start(r -> List.of("done"));
        assertEquals(0, cli("--admin-socket", socket.toString(), "upgrade", "runc", "some dir/d.jar"), err());
        assertEquals(0, cli("--admin-socket", socket.toString(), "install", "https://example.org/d.jar"), err());
        assertEquals(0, cli("--admin-socket", socket.toString(), "remove", "runc", "--force"), err());
        assertEquals(List.of("runc", Path.of("some dir/d.jar").toAbsolutePath().toString()), seen.get(0).args());
        assertEquals(List.of("https://example.org/d.jar"), seen.get(1).args());
        assertTrue(seen.get(2).force());
    }

    @Test
    void badUsageNeverReachesTheNode() throws Exception {
        Path socket = start(r -> List.of());
        assertEquals(1, cli("--admin-socket", socket.toString(), "upgrade", "runc"));
        assertTrue(err().contains("usage: "), err());
        assertEquals(1, cli("--admin-socket"));
        assertEquals(List.of(), seen);
    }

    @Test
    void aClientThatSendsNothingIsClosedAndTheNextOneIsServed() throws Exception {
        server = new AdminServer(dir.resolve("run/admin.sock"), r -> List.of("served"), AdminServer.rootOrSelf(),
                java.time.Duration.ofMillis(200));
        try (var idle = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(server.socket()))) {
            // The node closes it: end of stream, with no answer, instead of a thread blocked for ever.
            assertEquals(-1, java.nio.channels.Channels.newInputStream(idle).read());
        }
        assertEquals(0, cli("--admin-socket", server.socket().toString(), "drivers"), err());
        assertEquals("served\n", out());
    }

    /** Clients that connect and say nothing hold at most MAX_CLIENTS threads; beyond that they are closed at once. */
    @Test
    void idleClientsBeyondTheCapAreClosedAndTheNodeIsServedAfterThem() throws Exception {
        server = new AdminServer(dir.resolve("run/admin.sock"), r -> List.of("served"), AdminServer.rootOrSelf(),
                java.time.Duration.ofSeconds(3));
        List<java.nio.channels.SocketChannel> idle = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < AdminServer.MAX_CLIENTS; i++) {
                idle.add(java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(server.socket())));
            }
            Thread.sleep(200); // all accepted
            try (var extra = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(server.socket()))) {
                assertEquals(-1, java.nio.channels.Channels.newInputStream(extra).read(), "refused at once");
            }
        } finally {
            for (var c : idle) {
                c.close();
            }
        }
        long end = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
        int code;
        while ((code = cli("--admin-socket", server.socket().toString(), "drivers")) != 0 && System.nanoTime() < end) {
            Thread.sleep(50); // the closed idle clients leave their slots as the server notices
        }
        assertEquals(0, code, err());
        assertEquals("served\n", out());
    }

    @Test
    void shellWordsTravelAsOneGogoLine() throws Exception {
        Path socket = start(r -> List.of("ran " + r.arg(0)));
        assertEquals(0, cli("--admin-socket", socket.toString(), "shell", "kuasar:upgrade", "runc", "/tmp/a b.jar"),
                err());
        assertEquals(List.of(new AdminProtocol.Request("shell", List.of("kuasar:upgrade runc /tmp/a b.jar"))), seen);
        assertEquals("ran kuasar:upgrade runc /tmp/a b.jar\n", out());
        assertEquals(1, cli("--admin-socket", socket.toString(), "shell", " "));
        assertTrue(err().contains("bad arguments for 'shell'"), err());
    }

    @Test
    void aRawBadLineGetsErr() throws Exception {
        Path socket = start(r -> List.of());
        try (var ch = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket))) {
            ch.write(java.nio.ByteBuffer.wrap("frobnicate now\n".getBytes(StandardCharsets.UTF_8)));
            String answer = new String(java.nio.channels.Channels.newInputStream(ch).readAllBytes(),
                    StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("ERR unknown command 'frobnicate'"), answer);
        }
        assertEquals(List.of(), seen);
    }

    @Test
    void aPeerTheTestRefusesGetsErrAndNothingRuns() throws Exception {
        server = new AdminServer(dir.resolve("admin.sock"), r -> {
            seen.add(r);
            return List.of();
        }, peer -> false);
        assertEquals(1, cli("--admin-socket", server.socket().toString(), "drivers"));
        assertTrue(err().contains("permission denied"), err());
        assertEquals(List.of(), seen);
    }

    @Test
    void ourCredentialsAreReadAndAllowed() throws Exception {
        List<java.nio.file.attribute.UserPrincipal> peers = new CopyOnWriteArrayList<>();
        server = new AdminServer(dir.resolve("admin.sock"), r -> List.of(), peer -> {
            peers.add(peer);
            return AdminServer.rootOrSelf().test(peer);
        });
        assertEquals(0, cli("--admin-socket", server.socket().toString(), "sandboxes"), err());
        // Compared by uid: a UserPrincipal looked up by a numeric name is that uid, and principals are equal by uid.
        int uid = (Integer) java.nio.file.Files.getAttribute(java.nio.file.Path.of("/proc/self"), "unix:uid");
        assertEquals(java.nio.file.FileSystems.getDefault().getUserPrincipalLookupService()
                .lookupPrincipalByName(Integer.toString(uid)), peers.get(0), "the peer is this process's uid " + uid);
    }

    @Test
    void noNodeIsExitOneNamingTheSocket() {
        assertEquals(1, cli("--admin-socket", dir.resolve("none.sock").toString(), "drivers"));
        assertTrue(err().contains(dir.resolve("none.sock").toString()), err());
    }

    @Test
    void launcherArgumentsAreNotOurs() {
        assertFalse(AdminClient.handles(new String[0]));
        assertFalse(AdminClient.handles(new String[] {"-extract", "/tmp/x"}));
        assertTrue(AdminClient.handles(new String[] {"drivers"}));
        assertTrue(AdminClient.handles(new String[] {"--admin-socket", "/x", "drivers"}));
    }
}
