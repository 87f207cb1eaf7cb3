package io.kuasar.host.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The metrics server's HTTP: what a scrape gets, what anything else gets, on TCP and on a Unix socket. */
class MetricsHttpTest {
    @TempDir
    Path dir;

    private final AtomicInteger scrapes = new AtomicInteger();

    private MetricsHttp.Page page() {
        return new MetricsHttp.Page("text/plain; version=0.0.4; charset=utf-8",
                ("up " + scrapes.incrementAndGet() + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static String exchange(SocketChannel c, String request) throws IOException {
        try (c) {
            c.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.ISO_8859_1)));
            ByteBuffer all = ByteBuffer.allocate(64 * 1024);
            while (c.read(all) >= 0) {
                // to the end: the server closes after one answer
            }
            return new String(all.array(), 0, all.position(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void aScrapeOnALoopbackPortGetsTheTextFormatEachTimeAnew() throws IOException {
        try (MetricsHttp http = new MetricsHttp(MetricsHttp.address("127.0.0.1:0"), this::page)) {
            assertTrue(http.describe().matches("127\\.0\\.0\\.1:\\d+"), http.describe());
            int port = Integer.parseInt(http.describe().substring("127.0.0.1:".length()));
            for (int i = 1; i <= 2; i++) {
                String r = exchange(SocketChannel.open(new InetSocketAddress("127.0.0.1", port)),
                        "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
                assertTrue(r.startsWith("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                        + "Content-Length: 5\r\n"), r);
                assertTrue(r.endsWith("\r\n\r\nup " + i + "\n"), r);
            }
            String notHere = exchange(SocketChannel.open(new InetSocketAddress("127.0.0.1", port)),
                    "GET / HTTP/1.0\r\n\r\n");
            assertTrue(notHere.startsWith("HTTP/1.1 404 "), notHere);
            String post = exchange(SocketChannel.open(new InetSocketAddress("127.0.0.1", port)),
                    "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
            assertTrue(post.startsWith("HTTP/1.1 405 "), post);
            String head = exchange(SocketChannel.open(new InetSocketAddress("127.0.0.1", port)),
                    "HEAD /metrics HTTP/1.1\r\n\r\n");
            assertTrue(head.startsWith("HTTP/1.1 200 OK") && head.endsWith("\r\n\r\n"), head);
            String garbage = exchange(SocketChannel.open(new InetSocketAddress("127.0.0.1", port)), "hello\n\n");
            assertTrue(garbage.startsWith("HTTP/1.1 400 "), garbage);
        }
        assertEquals(3, scrapes.get(), "the page is made for each GET and HEAD of /metrics, not for the others");
    }

    @Test
    void aUnixSocketIsOnlyTheNodeUsers() throws IOException {
        Path sock = dir.resolve("run/metrics.sock");
        try (MetricsHttp http = new MetricsHttp(MetricsHttp.address("unix:" + sock), this::page)) {
            assertEquals("unix:" + sock, http.describe());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
            SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
            c.connect(UnixDomainSocketAddress.of(sock));
            assertTrue(exchange(c, "GET /metrics HTTP/1.1\r\n\r\n").endsWith("up 1\n"));
        }
        assertTrue(Files.notExists(sock), "removed on close");
    }

    @Test
    void badAddressesAreRefusedNamingTheSetting() {
        assertNull(MetricsHttp.address("off"));
        for (String bad : new String[] {"9469", "localhost:x", "127.0.0.1:70000", "unix:relative.sock", ":80"}) {
            String m = assertThrows(IllegalArgumentException.class, () -> MetricsHttp.address(bad)).getMessage();
            assertTrue(m.startsWith("kuasar.metrics.listen=" + bad + ":"), m);
        }
        assertEquals(new InetSocketAddress("::1", 9469), MetricsHttp.address("[::1]:9469"));
    }
}
