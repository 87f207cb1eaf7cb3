package io.kuasar.driver.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The QMP client against a scripted stand-in for QEMU on a Unix socket. */
class QmpClientTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;
    private ServerSocketChannel server;
    private Thread serving;
    private final List<JsonNode> received = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor();

    /** Serves one connection: greeting, then for each command line the lines {@code answer} gives. */
    private Path fakeQemu(Function<JsonNode, List<String>> answer) throws IOException {
        Path socket = dir.resolve("qmp.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        serving = new Thread(() -> {
            try (SocketChannel ch = server.accept()) {
                OutputStream out = Channels.newOutputStream(ch);
                BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
                write(out, "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2}}, \"capabilities\": []}}");
                String line;
                while ((line = in.readLine()) != null) {
                    JsonNode cmd = JSON.readTree(line);
                    received.add(cmd);
                    for (String reply : answer.apply(cmd)) {
                        write(out, reply);
                    }
                }
            } catch (IOException ignored) {
                // the client closed
            }
        });
        serving.setDaemon(true);
        serving.start();
        return socket;
    }

    private static void write(OutputStream out, String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @AfterEach
    void stop() throws IOException {
        watchdog.shutdownNow();
        if (server != null) {
            server.close();
        }
    }

    @Test
    void negotiatesCapabilitiesThenReturnsTheCommandsValue() throws IOException {
        Path socket = fakeQemu(cmd -> cmd.path("execute").asText().equals("query-status")
                ? List.of("{\"return\": {\"status\": \"running\", \"running\": true}}")
                : List.of("{\"return\": {}}"));
        try (QmpClient qmp = QmpClient.connect(socket, Duration.ofSeconds(10), watchdog)) {
            assertEquals(7, qmp.greeting().path("QMP").path("version").path("qemu").path("major").asInt());
            JsonNode status = qmp.execute("query-status", null);
            assertEquals("running", status.path("status").asText());
        }
        assertEquals("qmp_capabilities", received.get(0).path("execute").asText());
        assertEquals("query-status", received.get(1).path("execute").asText());
    }

    @Test
    void sendsArgumentsAndKeepsEventsThatArriveBeforeTheAnswer() throws IOException {
        Path socket = fakeQemu(cmd -> cmd.path("execute").asText().equals("migrate")
                ? List.of("{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}",
                        "{\"return\": {}}")
                : List.of("{\"return\": {}}"));
        try (QmpClient qmp = QmpClient.connect(socket, Duration.ofSeconds(10), watchdog)) {
            qmp.execute("migrate", Map.of("uri", "exec:cat > /tmp/x"));
            assertEquals("STOP", qmp.events().get(0).path("event").asText());
            assertEquals("STOP", qmp.awaitEvent("STOP").path("event").asText());
        }
        assertEquals("exec:cat > /tmp/x", received.get(1).path("arguments").path("uri").asText());
    }

    @Test
    void anErrorBecomesAQmpExceptionWithItsClass() throws IOException {
        Path socket = fakeQemu(cmd -> cmd.path("execute").asText().equals("bogus")
                ? List.of("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command bogus has not been found\"}}")
                : List.of("{\"return\": {}}"));
        try (QmpClient qmp = QmpClient.connect(socket, Duration.ofSeconds(10), watchdog)) {
            QmpClient.QmpException e = assertThrows(QmpClient.QmpException.class, () -> qmp.execute("bogus", null));
            assertEquals("CommandNotFound", e.errorClass);
            assertTrue(e.getMessage().contains("bogus"), e.getMessage());
            // the connection stays usable after a refused command
            assertTrue(qmp.execute("query-status", null).isObject());
        }
    }

    @Test
    void aSilentQemuEndsTheCallInsteadOfHangingIt() throws IOException {
        Path socket = fakeQemu(cmd -> cmd.path("execute").asText().equals("quit") ? List.of() : List.of("{\"return\": {}}"));
        try (QmpClient qmp = QmpClient.connect(socket, Duration.ofMillis(300), watchdog)) {
            IOException e = assertThrows(IOException.class, () -> qmp.execute("quit", null));
            assertTrue(e.getMessage().contains("did not answer"), e.getMessage());
        }
    }

    @Test
    void aSocketThatIsNotQmpIsRefused() throws IOException {
        Path socket = dir.resolve("other.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread t = new Thread(() -> {
            try (SocketChannel ch = server.accept()) {
                write(Channels.newOutputStream(ch), "{\"hello\": 1}");
                Thread.sleep(2000);
            } catch (IOException | InterruptedException ignored) {
                // done
            }
        });
        t.setDaemon(true);
        t.start();
        IOException e = assertThrows(IOException.class, () -> QmpClient.connect(socket, Duration.ofMillis(200), watchdog));
        assertTrue(e.getMessage().contains("QMP"), e.getMessage());
    }
}
