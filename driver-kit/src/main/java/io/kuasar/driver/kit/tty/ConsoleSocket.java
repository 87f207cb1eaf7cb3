package io.kuasar.driver.kit.tty;

import io.kuasar.driver.kit.NativeBuffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The Unix socket an OCI runtime's {@code --console-socket} connects to: the runtime (runc create or exec --detach,
 * runsc create) allocates the container's pty, connects here and sends the master end as SCM_RIGHTS ancillary data,
 * then exits. It has sent it by the time it returns successfully, so {@link #receive()} does not wait: the listening
 * socket is non-blocking and an absent connection is an error, never a hang. Java cannot receive file descriptors,
 * hence libc.
 */
public final class ConsoleSocket implements AutoCloseable {
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_NONBLOCK = 0x800;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int SOL_SOCKET = 1;
    private static final int SCM_RIGHTS = 1;
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    /** sun_path's size in struct sockaddr_un. */
    static final int MAX_PATH = 108;

    private final Path path;
    private final int fd;

    private ConsoleSocket(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /** Listens at {@code path} (which must not exist; at most 107 bytes). */
    static ConsoleSocket listen(Path path) throws IOException {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length >= MAX_PATH) {
            throw new IOException("console socket path " + path + " is longer than " + (MAX_PATH - 1) + " bytes");
        }
        TtyLibC libc = Native.libc();
        int fd = libc.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw Native.failure("socket(AF_UNIX)");
        }
        NativeBuffer addr = NativeBuffer.allocate(2 + MAX_PATH);
        addr.buffer().putShort(0, (short) AF_UNIX).put(2, name);
        if (libc.bind(fd, addr.pointer(), 2 + name.length + 1) != 0 || libc.listen(fd, 1) != 0) {
            IOException e = Native.failure("bind/listen " + path);
            libc.close(fd);
            throw e;
        }
        return new ConsoleSocket(path, fd);
    }

    public Path path() {
        return path;
    }

    /** Accepts the runtime's connection and returns the file descriptor it sent (close-on-exec, owned by the caller). */
    int receive() throws IOException {
        TtyLibC libc = Native.libc();
        int conn = libc.accept4(fd, null, null, SOCK_CLOEXEC);
        if (conn < 0) {
            throw Native.failure("the runtime sent no terminal to " + path + ": accept");
        }
        try {
            NativeBuffer data = NativeBuffer.allocate(4096);
            NativeBuffer control = NativeBuffer.allocate(64);
            NativeBuffer iov = NativeBuffer.allocate(16);
            iov.buffer().putLong(0, data.pointer().address()).putLong(8, data.size());
            // struct msghdr (LP64): name, namelen, iov, iovlen, control, controllen, flags
            NativeBuffer msg = NativeBuffer.allocate(56);
            ByteBuffer m = msg.buffer();
            m.putLong(16, iov.pointer().address()).putLong(24, 1).putLong(32, control.pointer().address())
                    .putLong(40, control.size());
            long n = libc.recvmsg(conn, msg.pointer(), MSG_CMSG_CLOEXEC);
            if (n < 0) {
                throw Native.failure("recvmsg on " + path);
            }
            // struct cmsghdr: size_t len, int level, int type, then the fds
            ByteBuffer c = control.buffer();
            long controlLen = m.getLong(40);
            if (controlLen < 20 || c.getInt(8) != SOL_SOCKET || c.getInt(12) != SCM_RIGHTS) {
                throw new IOException("the message on " + path + " carried no file descriptor");
            }
            return c.getInt(16);
        } finally {
            libc.close(conn);
        }
    }

    @Override
    public void close() throws IOException {
        Native.libc().close(fd);
        Files.deleteIfExists(path);
    }
}
