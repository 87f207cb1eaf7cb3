package io.kuasar.driver.kit.tty;

import io.kuasar.driver.kit.NativeBuffer;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * A pty this JVM made for a process it starts itself, when the runtime takes the process's terminal as its own stdio
 * (runsc exec in the foreground). The process opens {@link #replica()} itself. Until it has, a master with no replica
 * open reads as hung up (EIO), which would end the copying at once: so this JVM holds a replica fd of its own
 * (O_NOCTTY: it never becomes this JVM's controlling terminal) until {@link #close()}, which the caller does once the
 * process is gone.
 */
public final class Pty implements AutoCloseable {
    private static final int O_RDWR = 2;
    private static final int O_NOCTTY = 0x100;
    private static final int O_CLOEXEC = 0x80000;

    private final String replica;
    private int master;
    private int replicaFd;

    private Pty(int master, String replica, int replicaFd) {
        this.master = master;
        this.replica = replica;
        this.replicaFd = replicaFd;
    }

    static Pty open() throws IOException {
        TtyLibC libc = Native.libc();
        int fd = libc.posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
            throw Native.failure("posix_openpt");
        }
        NativeBuffer name = NativeBuffer.allocate(64);
        if (libc.grantpt(fd) != 0 || libc.unlockpt(fd) != 0 || libc.ptsname_r(fd, name.pointer(), name.size()) != 0) {
            IOException e = Native.failure("grantpt/unlockpt/ptsname");
            libc.close(fd);
            throw e;
        }
        byte[] bytes = new byte[(int) name.size()];
        name.buffer().get(0, bytes);
        int len = 0;
        while (len < bytes.length && bytes[len] != 0) {
            len++;
        }
        String path = new String(bytes, 0, len, StandardCharsets.UTF_8);
        int replicaFd = libc.open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (replicaFd < 0) {
            IOException e = Native.failure("open " + path);
            libc.close(fd);
            throw e;
        }
        return new Pty(fd, path, replicaFd);
    }

    /** The replica's path ({@code /dev/pts/N}), for the process's stdin, stdout and stderr. */
    public String replica() {
        return replica;
    }

    /**
     * After the process started on the replica: holds the master in a {@link PtyHolder} and copies between it and
     * the FIFOs of {@code stdio}, like {@link Terminals#attach}. The master belongs to the Console from here on.
     */
    public synchronized Console take(Stdio stdio, String what, java.nio.file.Path holderRecord)
            throws SandboxException {
        if (master < 0) {
            throw new IllegalStateException("the master of " + replica + " was taken already");
        }
        int m = master;
        master = -1;
        return Terminals.take(m, stdio, what, holderRecord);
    }

    /** The master's fd while this Pty owns it; -1 once taken or closed. */
    synchronized int master() {
        return master;
    }

    /**
     * Closes what this JVM still holds: its replica fd (the process is gone, or could not be started), and the master
     * unless it was taken. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (master >= 0) {
            Native.libc().close(master);
            master = -1;
        }
        if (replicaFd >= 0) {
            Native.libc().close(replicaFd);
            replicaFd = -1;
        }
    }
}
