package io.kuasar.itest;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The node's admin socket as the command line uses it (docs/operating.md, "Protocol"): one request line per
 * connection; the node answers text lines, the last one {@code OK} or {@code ERR message}. The words sent here
 * need no quoting.
 */
final class Admin {
    /** The answer: the text lines before the status line, and the status line. */
    record Answer(List<String> lines, String status) {
        boolean ok() {
            return status.equals("OK");
        }

        String text() {
            return String.join("\n", lines) + "\n" + status;
        }
    }

    private final Path socket;

    Admin(Path socket) {
        this.socket = socket;
    }

    Answer send(String request) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer out = ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8));
            while (out.hasRemaining()) {
                ch.write(out);
            }
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch),
                    StandardCharsets.UTF_8));
            List<String> lines = new ArrayList<>();
            for (String line; (line = in.readLine()) != null; ) {
                lines.add(line);
            }
            if (lines.isEmpty()) {
                throw new IOException("no answer from " + socket + " to " + request);
            }
            String status = lines.remove(lines.size() - 1);
            return new Answer(lines, status);
        }
    }
}
