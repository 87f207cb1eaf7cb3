package io.kuasar.endpoint;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A keeper that accepts but never answers must not hang the caller (sandbox Start waits on LISTEN). */
class KeeperClientTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(10) // without the watchdog the call would block for ever
    void aSilentKeeperFailsTheCallWithinItsTimeout() throws Exception {
        Path control = dir.resolve("control.sock");
        List<SocketChannel> accepted = new ArrayList<>();
        try (ServerSocketChannel silent = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            silent.bind(UnixDomainSocketAddress.of(control));
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        accepted.add(silent.accept()); // read nothing, answer nothing
                    }
                } catch (IOException closed) {
                    // the test is over
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            try (KeeperClient client = new KeeperClient(control, Duration.ofMillis(300))) {
                long start = System.nanoTime();
                IOException e = assertThrows(IOException.class,
                        () -> client.listen(dir.resolve("pub.sock"), dir.resolve("back.sock")));
                long ms = (System.nanoTime() - start) / 1_000_000;
                assertTrue(e.getMessage().contains("does not answer LISTEN"), e.getMessage());
                assertTrue(ms >= 300 && ms < 5000, "gave up after " + ms + " ms");
            }
        } finally {
            for (SocketChannel ch : accepted) {
                ch.close();
            }
        }
    }
}
