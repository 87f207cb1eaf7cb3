package io.kuasar.driver.kit.tty;

import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * A pty this JVM made for a process it starts itself, when the runtime takes the process's terminal as its own stdio
 * (runsc exec in the foreground): the master is an fd of this JVM, opened without becoming anyone's controlling
 * terminal; the process opens {@link #replica()} itself (this JVM must not: a session leader opening a tty would
 * make it its controlling terminal, and then be hung up with it).
 */
public final class Pty implements AutoCloseable {
    private static final int O_RDWR = 2;
    private static final int O_NOCTTY = 0x100;
    private static final int O_CLOEXEC = 0x80000;

    private final String replica;
    private int master;

    private Pty(int master, String replica) {
        this.master = master;
        this.replica = replica;
    }

    static Pty open() throws IOException {
        TtyLibC libc = Native.libc();
        int fd = libc.posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
            throw Native.failure("posix_openpt");
        }
        Native.Buffer name = Native.Buffer.allocate(64);
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
        return new Pty(fd, new String(bytes, 0, len, StandardCharsets.UTF_8));
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

    /** Closes the master unless it was taken (the process could not be started). */
    @Override
    public synchronized void close() {
        if (master >= 0) {
            Native.libc().close(master);
            master = -1;
        }
    }
}
