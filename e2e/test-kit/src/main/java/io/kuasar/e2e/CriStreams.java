package io.kuasar.e2e;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * A client of the streaming server CRI's Exec, Attach and PortForward point at (containerd's, built on
 * k8s.io/kubelet/pkg/cri/streaming, on 127.0.0.1 and a random port), over WebSocket with the Kubernetes channel
 * protocol: every binary message starts with a channel byte. Exec and attach ({@code v5.channel.k8s.io}, else
 * {@code v4.channel.k8s.io}): 0 stdin, 1 stdout, 2 stderr, 3 error (a Status JSON when the process ends), 4 resize
 * ({@code {"Width":..,"Height":..}}); v5 adds 255 "close", {@code [255, channel]}, which ends stdin. Port-forward
 * ({@code v4.channel.k8s.io}, ports as {@code ?port=N} query parameters): channels 2i (data) and 2i+1 (error) for
 * the i-th port, the first message on each carries that port as two little-endian bytes.
 */
public final class CriStreams {
    public static final String V5 = "v5.channel.k8s.io";
    public static final String V4 = "v4.channel.k8s.io";
    public static final int STDIN = 0;
    public static final int STDOUT = 1;
    public static final int STDERR = 2;
    public static final int ERROR = 3;
    public static final int RESIZE = 4;
    private static final int CLOSE = 255;
    private static final Duration CONNECT = Duration.ofSeconds(20);

    private CriStreams() {
    }

    /** Opens an exec or attach session at the URL CRI returned (http:// becomes ws://). */
    public static Session exec(String url) {
        return open(url, false, V5, V4);
    }

    /** Opens a port-forward session for {@code port} at the URL CRI's PortForward returned. */
    public static Session portForward(String url, int port) {
        return open(url + (url.contains("?") ? "&" : "?") + "port=" + port, true, V4);
    }

    private static Session open(String url, boolean portForward, String... protocols) {
        URI uri = URI.create(url.replaceFirst("^http", "ws"));
        Session s = new Session(portForward);
        WebSocket.Builder b = HttpClient.newBuilder().connectTimeout(CONNECT).build().newWebSocketBuilder()
                .connectTimeout(CONNECT).subprotocols(protocols[0], java.util.Arrays.copyOfRange(protocols, 1,
                        protocols.length));
        s.ws = b.buildAsync(uri, s.listener).orTimeout(CONNECT.toSeconds(), TimeUnit.SECONDS).join();
        return s;
    }

    /** One WebSocket session: what arrived on each channel, and ways to send. */
    public static final class Session implements AutoCloseable {
        private final boolean portForward;
        private final ByteArrayOutputStream[] channels = new ByteArrayOutputStream[256];
        private final boolean[] prefixSeen = new boolean[256];
        private final CompletableFuture<Integer> closed = new CompletableFuture<>();
        private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
        private WebSocket ws;
        private final WebSocket.Listener listener = new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
                byte[] b = new byte[data.remaining()];
                data.get(b);
                partial.writeBytes(b);
                if (last) {
                    received(partial.toByteArray());
                    partial.reset();
                }
                w.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                w.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket w, int statusCode, String reason) {
                closed.complete(statusCode);
                return null;
            }

            @Override
            public void onError(WebSocket w, Throwable error) {
                closed.completeExceptionally(error);
            }
        };

        private Session(boolean portForward) {
            this.portForward = portForward;
            for (int i = 0; i < channels.length; i++) {
                channels[i] = new ByteArrayOutputStream();
            }
        }

        /** The sub-protocol the server chose. */
        public String protocol() {
            return ws.getSubprotocol();
        }

        private synchronized void received(byte[] message) {
            if (message.length == 0) {
                return;
            }
            int channel = message[0] & 0xFF;
            int from = 1;
            if (portForward && !prefixSeen[channel]) {
                prefixSeen[channel] = true; // the port number the channel is for
                from = Math.min(message.length, 3);
            }
            channels[channel].write(message, from, message.length - from);
            notifyAll();
        }

        /** Sends {@code data} on {@code channel} (stdin 0 for exec/attach; 2i for port-forward's data). */
        public synchronized void send(int channel, byte[] data) {
            byte[] m = new byte[data.length + 1];
            m[0] = (byte) channel;
            System.arraycopy(data, 0, m, 1, data.length);
            ws.sendBinary(ByteBuffer.wrap(m), true).join();
        }

        public void send(int channel, String text) {
            send(channel, text.getBytes(StandardCharsets.UTF_8));
        }

        /** Sets the terminal's size (channel 4). */
        public void resize(int width, int height) {
            send(RESIZE, "{\"Width\":" + width + ",\"Height\":" + height + "}");
        }

        /** Ends stdin: v5's close signal; under v4 there is none and this closes the whole session's output side. */
        public synchronized void closeStdin() {
            if (V5.equals(protocol())) {
                ws.sendBinary(ByteBuffer.wrap(new byte[] {(byte) CLOSE, STDIN}), true).join();
            } else {
                ws.sendClose(WebSocket.NORMAL_CLOSURE, "").join();
            }
        }

        /** All text that arrived on {@code channel} so far. */
        public synchronized String text(int channel) {
            return channels[channel].toString(StandardCharsets.UTF_8);
        }

        /** Waits until {@code channel}'s text contains {@code needle}; returns the text; fails after {@code timeout}. */
        public synchronized String awaitText(int channel, String needle, Duration timeout) {
            long end = System.nanoTime() + timeout.toNanos();
            while (!text(channel).contains(needle)) {
                long left = end - System.nanoTime();
                if (left <= 0 || closed.isDone()) {
                    throw new IllegalStateException("channel " + channel + " lacks '" + needle + "' ("
                            + (left <= 0 ? "after " + timeout : "session closed") + "); it holds '" + text(channel)
                            + "', error channel '" + text(ERROR) + "'");
                }
                try {
                    wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 200)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
            }
            return text(channel);
        }

        /**
         * Asks the shell on the terminal for its size ({@code stty size}) until it reports {@code rows cols}. A resize
         * travels apart from stdin (containerd turns it into a ResizePty call of its own), so a command sent right
         * after it may run before the size lands, with either runtime.
         */
        public void awaitTerminalSize(int cols, int rows, Duration timeout) {
            long end = System.nanoTime() + timeout.toNanos();
            String want = rows + " " + cols;
            while (!text(STDOUT).contains(want)) {
                if (System.nanoTime() > end || closed.isDone()) {
                    throw new IllegalStateException("the terminal never reported " + want + "; stdout '"
                            + text(STDOUT) + "', error channel '" + text(ERROR) + "'");
                }
                send(STDIN, "stty size\n");
                synchronized (this) {
                    try {
                        wait(250);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted", e);
                    }
                }
            }
        }

        /** Waits for the server to close the session; returns the close code. */
        public int awaitClose(Duration timeout) {
            return closed.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).join();
        }

        public boolean isClosed() {
            return closed.isDone();
        }

        @Override
        public void close() {
            if (!closed.isDone()) {
                try {
                    ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(5, TimeUnit.SECONDS);
                } catch (Exception ignored) {
                    // already closing
                }
                ws.abort();
            }
        }
    }
}
