package io.kuasar.endpoint;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A small blocking client of the keeper's control socket ({@code host/keeper}, {@code $KUASAR_KEEPER_DIR/control.sock}):
 * one line per request, one line per answer ({@code LIST} answers lines up to {@code END}). The keeper owns the
 * public Task API sockets and relays containerd's connections to our backend sockets, replaying unanswered requests
 * when this JVM restarts. One connection, reopened once when it fails (the keeper outlives us, but a call may land
 * on a connection it closed).
 */
final class KeeperClient implements AutoCloseable {
    private final Path control;
    private SocketChannel channel;
    private final ByteBuffer in = ByteBuffer.allocate(8192);
    private final StringBuilder pending = new StringBuilder();

    /** How long one request may wait for the keeper's answer before the connection is dropped. */
    static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(5);

    private final Duration timeout;
    /** Closes a connection whose answer is overdue, which ends the blocked read: a hung keeper cannot hang Start. */
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kuasar-keeper-watchdog");
        t.setDaemon(true);
        return t;
    });

    KeeperClient(Path control) {
        this(control, ANSWER_TIMEOUT);
    }

    KeeperClient(Path control, Duration timeout) {
        this.control = control;
        this.timeout = timeout;
    }

    Path control() {
        return control;
    }

    /** {@code LISTEN public backend}: the keeper listens on {@code pub} and relays to {@code backend}. Idempotent. */
    void listen(Path pub, Path backend) throws IOException {
        expectOk(call("LISTEN " + pub + " " + backend, false).get(0));
    }

    /** {@code CLOSE public}: the keeper stops listening on {@code pub} and closes its connections. */
    void close(Path pub) throws IOException {
        expectOk(call("CLOSE " + pub, false).get(0));
    }

    /** {@code LIST}: the public to backend pairs the keeper listens on. */
    List<String[]> list() throws IOException {
        List<String[]> out = new ArrayList<>();
        for (String line : call("LIST", true)) {
            String[] f = line.split(" ");
            if (f.length == 3 && f[0].equals("L")) {
                out.add(new String[] {f[1], f[2]});
            }
        }
        return out;
    }

    boolean ping() {
        try {
            return "PONG".equals(call("PING", false).get(0));
        } catch (IOException e) {
            return false;
        }
    }

    private static void expectOk(String answer) throws IOException {
        if (!answer.equals("OK")) {
            throw new IOException("keeper: " + (answer.startsWith("ERR ") ? answer.substring(4) : answer));
        }
    }

    private synchronized List<String> call(String request, boolean untilEnd) throws IOException {
        IOException last = null;
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                if (channel == null) {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    try {
                        ch.connect(UnixDomainSocketAddress.of(control));
                    } catch (IOException e) {
                        ch.close();
                        throw e;
                    }
                    channel = ch;
                    in.clear();
                    pending.setLength(0);
                }
                SocketChannel ch = channel;
                ScheduledFuture<?> guard = watchdog.schedule(() -> closeQuietly(ch), timeout.toMillis(),
                        TimeUnit.MILLISECONDS);
                try {
                    return exchange(request, untilEnd);
                } finally {
                    guard.cancel(false);
                }
            } catch (IOException e) {
                last = e;
                closeChannel();
            }
        }
        throw new IOException("keeper at " + control + " does not answer " + request.split(" ")[0] + ": "
                + last.getMessage(), last);
    }

    private List<String> exchange(String request, boolean untilEnd) throws IOException {
        ByteBuffer out = ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) {
            channel.write(out);
        }
        List<String> lines = new ArrayList<>();
        while (true) {
            String line = readLine();
            if (!untilEnd) {
                lines.add(line);
                return lines;
            }
            if (line.equals("END")) {
                return lines;
            }
            lines.add(line);
        }
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // the blocked read fails either way
        }
    }

    private String readLine() throws IOException {
        while (true) {
            int nl = pending.indexOf("\n");
            if (nl >= 0) {
                String line = pending.substring(0, nl);
                pending.delete(0, nl + 1);
                return line;
            }
            in.clear();
            int n = channel.read(in);
            if (n < 0) {
                throw new IOException("keeper closed the control connection");
            }
            in.flip();
            pending.append(StandardCharsets.UTF_8.decode(in));
        }
    }

    private void closeChannel() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // reopened on the next call
            }
            channel = null;
        }
    }

    @Override
    public synchronized void close() {
        closeChannel();
        watchdog.shutdownNow();
    }
}
