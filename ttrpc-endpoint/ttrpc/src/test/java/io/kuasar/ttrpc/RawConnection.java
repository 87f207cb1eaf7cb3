package io.kuasar.ttrpc;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A deliberately dumb ttrpc peer over a plain JDK Unix socket, independent of the code under test, so tests can
 * put arbitrary bytes on the wire and see exactly what comes back.
 */
final class RawConnection implements AutoCloseable {
    /** A frame as read off the wire. */
    record RawFrame(int streamId, int type, int flags, byte[] payload) {
    }

    private final SocketChannel channel;
    private final Selector selector;

    RawConnection(Path socket) throws IOException {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        channel.configureBlocking(false);
        selector = Selector.open();
        channel.register(selector, SelectionKey.OP_READ);
    }

    void sendFrame(int streamId, int type, int flags, byte[] payload) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(10 + payload.length);
        buf.putInt(payload.length).putInt(streamId).put((byte) type).put((byte) flags).put(payload).flip();
        writeFully(buf);
    }

    /** A header announcing {@code length} bytes followed by that many zero bytes, written in chunks. */
    void sendHeaderAndZeros(long length, int streamId, int type) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(10);
        header.putInt((int) length).putInt(streamId).put((byte) type).put((byte) 0).flip();
        writeFully(header);
        ByteBuffer zeros = ByteBuffer.allocate(64 * 1024);
        long left = length;
        while (left > 0) {
            zeros.clear().limit((int) Math.min(left, zeros.capacity()));
            left -= zeros.remaining();
            writeFully(zeros);
        }
    }

    void sendBytes(byte[] bytes) throws IOException {
        writeFully(ByteBuffer.wrap(bytes));
    }

    /** The next frame, or null if none arrives within {@code timeout}. */
    RawFrame read(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        ByteBuffer header = ByteBuffer.allocate(10);
        if (!readFully(header, deadline)) {
            return null;
        }
        header.flip();
        int length = header.getInt();
        int streamId = header.getInt();
        int type = header.get() & 0xFF;
        int flags = header.get() & 0xFF;
        ByteBuffer payload = ByteBuffer.allocate(length);
        if (!readFully(payload, deadline)) {
            throw new IOException("frame payload incomplete");
        }
        return new RawFrame(streamId, type, flags, payload.array());
    }

    /** True when the peer closes the connection within {@code timeout} (anything received meanwhile is dropped). */
    boolean awaitClosed(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        ByteBuffer sink = ByteBuffer.allocate(4096);
        while (System.nanoTime() < deadline) {
            selector.select(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            selector.selectedKeys().clear();
            sink.clear();
            try {
                if (channel.read(sink) < 0) {
                    return true;
                }
            } catch (IOException reset) {
                return true;
            }
        }
        return false;
    }

    private boolean readFully(ByteBuffer buf, long deadline) throws IOException {
        while (buf.hasRemaining()) {
            int n = channel.read(buf);
            if (n < 0) {
                throw new IOException("connection closed by server");
            }
            if (n == 0) {
                long waitMillis = (deadline - System.nanoTime()) / 1_000_000;
                if (waitMillis <= 0) {
                    if (buf.position() == 0) {
                        return false;
                    }
                    throw new IOException("timed out in the middle of a frame");
                }
                selector.select(waitMillis);
                selector.selectedKeys().clear();
            }
        }
        return true;
    }

    private void writeFully(ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            if (channel.write(buf) == 0) {
                Thread.onSpinWait();
            }
        }
    }

    @Override
    public void close() throws IOException {
        selector.close();
        channel.close();
    }
}
