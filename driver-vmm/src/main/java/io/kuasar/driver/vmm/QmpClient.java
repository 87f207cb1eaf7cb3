package io.kuasar.driver.vmm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A small client of QEMU's machine protocol (QMP): JSON objects, one per line, on a Unix socket. After the greeting
 * it negotiates capabilities; {@link #execute} sends a command and returns its {@code return} value, skipping the
 * asynchronous events that may arrive first (kept in {@link #events()}). Each call has a deadline: the socket is
 * closed when it passes, which ends a blocked read, so a hung QEMU cannot hang the driver.
 */
final class QmpClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A command QEMU refused, with QMP's error class and description. */
    static final class QmpException extends IOException {
        private static final long serialVersionUID = 1L;
        final String errorClass;

        QmpException(String errorClass, String description) {
            super(errorClass + ": " + description);
            this.errorClass = errorClass;
        }
    }

    private final SocketChannel channel;
    private final BufferedReader in;
    private final Duration timeout;
    /** The owner's scheduler (no static one: it would outlive an upgrade of this bundle). */
    private final ScheduledExecutorService watchdog;
    private final List<JsonNode> events = new ArrayList<>();
    private final JsonNode greeting;

    private QmpClient(SocketChannel channel, Duration timeout, ScheduledExecutorService watchdog) throws IOException {
        this.channel = channel;
        this.timeout = timeout;
        this.watchdog = watchdog;
        this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
        this.greeting = withDeadline(() -> {
            JsonNode g = readMessage();
            if (!g.has("QMP")) {
                throw new IOException("not a QMP greeting: " + g);
            }
            return g;
        });
        execute("qmp_capabilities", null);
    }

    /**
     * Connects to {@code socket}, retrying while QEMU has not created it yet, for at most {@code timeout}; each
     * call's deadline is kept by {@code watchdog}.
     */
    static QmpClient connect(Path socket, Duration timeout, ScheduledExecutorService watchdog) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            SocketChannel ch = SocketChannel.open(java.net.StandardProtocolFamily.UNIX);
            try {
                ch.connect(UnixDomainSocketAddress.of(socket));
                return new QmpClient(ch, timeout, watchdog);
            } catch (IOException e) {
                ch.close();
                if (e instanceof QmpException || System.nanoTime() > deadline) {
                    throw new IOException("cannot talk QMP on " + socket + ": " + e.getMessage(), e);
                }
            }
            sleep(20);
        }
    }

    JsonNode greeting() {
        return greeting;
    }

    /** Events QEMU sent so far (e.g. STOP, SHUTDOWN, MIGRATION), oldest first. */
    synchronized List<JsonNode> events() {
        return List.copyOf(events);
    }

    /** Runs {@code command} with {@code arguments} (may be null) and returns QEMU's {@code return} value. */
    synchronized JsonNode execute(String command, Map<String, ?> arguments) throws IOException {
        ObjectNode msg = JSON.createObjectNode().put("execute", command);
        if (arguments != null && !arguments.isEmpty()) {
            msg.set("arguments", JSON.valueToTree(arguments));
        }
        byte[] line = (JSON.writeValueAsString(msg) + "\n").getBytes(StandardCharsets.UTF_8);
        return withDeadline(() -> {
            ByteBuffer buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
            while (true) {
                JsonNode reply = readMessage();
                if (reply.has("event")) {
                    events.add(reply);
                } else if (reply.has("error")) {
                    JsonNode e = reply.get("error");
                    throw new QmpException(e.path("class").asText("GenericError"), e.path("desc").asText(""));
                } else if (reply.has("return")) {
                    return reply.get("return");
                }
            }
        });
    }

    /** Waits for an event named {@code name} (already seen or still to come), for at most the client's timeout. */
    synchronized JsonNode awaitEvent(String name) throws IOException {
        for (JsonNode e : events) {
            if (name.equals(e.path("event").asText())) {
                return e;
            }
        }
        return withDeadline(() -> {
            while (true) {
                JsonNode m = readMessage();
                if (m.has("event")) {
                    events.add(m);
                    if (name.equals(m.path("event").asText())) {
                        return m;
                    }
                }
            }
        });
    }

    private JsonNode readMessage() throws IOException {
        String line = in.readLine();
        if (line == null) {
            throw new IOException("QMP connection closed by QEMU");
        }
        return JSON.readTree(line);
    }

    private interface Io<T> {
        T run() throws IOException;
    }

    private <T> T withDeadline(Io<T> io) throws IOException {
        ScheduledFuture<?> guard = watchdog.schedule(() -> {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing is all the watchdog can do
            }
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            return io.run();
        } catch (IOException e) {
            if (!channel.isOpen() && !(e instanceof QmpException)) {
                throw new IOException("QMP did not answer within " + timeout.toMillis() + " ms", e);
            }
            throw e;
        } finally {
            guard.cancel(false);
        }
    }

    private static void sleep(long ms) throws IOException {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}
