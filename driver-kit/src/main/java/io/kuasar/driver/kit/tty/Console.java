package io.kuasar.driver.kit.tty;

import io.kuasar.driver.kit.DaemonThreads;
import io.kuasar.driver.kit.NativeBuffer;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The pty master of one TTY process, held by this JVM: a thread copies what the process writes to containerd's
 * stdout FIFO, another copies containerd's stdin FIFO into the terminal, and {@link #resize} sets the window size.
 *
 * <p>The fd is a plain int, so it must not be closed while another thread may still use it (the number could be
 * reused by an unrelated open). Each user holds a reference ({@link #retain()}/{@link #release()}); the last one
 * closes it. The output thread ends when the read returns EIO, which the kernel does once every slave fd is
 * closed (the process and its children are gone). When containerd closes stdin (CRI's StdinOnce, CloseIO), the
 * process is sent the terminal's end-of-file character (^D), so a shell or {@code cat} reading the tty ends;
 * containerd's runc shim closes its console instead, which hangs the process up (SIGHUP).
 *
 * <p>Across a restart of the node a {@link PtyHolder} keeps a copy of the master, so the terminal is not hung up,
 * and the restarted driver makes a new Console for it. {@link #stop()} ends the copying without touching the
 * process (a driver instance being replaced in the same JVM); {@code onEnd} runs when the process is gone.
 */
public final class Console {
    private static final Logger LOG = System.getLogger(Console.class.getName());
    private static final long TIOCSWINSZ = 0x5414;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final byte EOT = 4;
    private static final int BUFFER = 32 * 1024;
    /** Two copier threads per terminal, whose loops need little stack. */
    private static final long COPIER_STACK = 256 * 1024;

    /** How long the output copier waits in poll() before it looks at {@link #stopped} again. */
    private static final int POLL_MILLIS = 1000;
    private static final short POLLIN = 0x1;

    private final int master;
    private final String what;
    private final Runnable onEnd;
    private int refs = 1;
    private volatile boolean stopped;
    private volatile FileChannel stdinChannel;

    /** @param onEnd run once when the terminal's process and all its users of the tty are gone */
    Console(int master, String what, Runnable onEnd) {
        this.master = master;
        this.what = what;
        this.onEnd = onEnd;
    }

    /**
     * Starts copying: terminal output to {@code stdout} (a FIFO path, or null to drain and drop it), and
     * {@code stdin} (a FIFO path, or null) into the terminal. The FIFOs are opened on the copying threads, since
     * opening a FIFO blocks until containerd holds its other end.
     */
    void start(String stdout, String stdin) {
        retain();
        DaemonThreads.named("kuasar-tty-out", COPIER_STACK).newThread(() -> copyOut(stdout)).start();
        if (stdin != null) {
            retain();
            DaemonThreads.named("kuasar-tty-in", COPIER_STACK).newThread(() -> copyIn(stdin)).start();
        }
        release(); // the creator's reference: the copiers now keep the terminal open
    }

    private void copyOut(String stdout) {
        NativeBuffer buf = NativeBuffer.allocate(BUFFER);
        byte[] chunk = new byte[BUFFER];
        try (OutputStream sink = stdout == null ? OutputStream.nullOutputStream()
                : Files.newOutputStream(Path.of(stdout), StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            NativeBuffer pollFd = NativeBuffer.allocate(8); // struct pollfd: int fd, short events, revents
            pollFd.buffer().putInt(0, master).putShort(4, POLLIN);
            while (true) {
                int ready = Native.libc().poll(pollFd.pointer(), 1, POLL_MILLIS);
                if (stopped) {
                    return;
                }
                if (ready <= 0) {
                    continue; // timeout or EINTR
                }
                long n = Native.libc().read(master, buf.pointer(), BUFFER);
                if (n < 0 && Native.errno() == EINTR) {
                    continue;
                }
                if (n <= 0) {
                    ended(); // EIO: every slave end is closed, the process is gone
                    break;
                }
                buf.buffer().get(0, chunk, 0, (int) n);
                sink.write(chunk, 0, (int) n);
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "terminal output of " + what + " ended", e);
        } finally {
            release();
        }
    }

    private void copyIn(String stdin) {
        try (FileChannel source = FileChannel.open(Path.of(stdin), StandardOpenOption.READ)) {
            stdinChannel = source;
            if (stopped) {
                return;
            }
            ByteBuffer chunk = ByteBuffer.allocate(BUFFER);
            while (source.read(chunk.clear()) >= 0) {
                if (!write(chunk.flip())) {
                    return;
                }
            }
            if (!stopped) {
                write(ByteBuffer.wrap(new byte[] {EOT})); // containerd closed stdin: end-of-file for the tty's reader
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "terminal input of " + what + " ended", e);
        } finally {
            release();
        }
    }

    /** Writes all of {@code data} to the terminal; false when the terminal is gone. */
    private boolean write(ByteBuffer data) {
        NativeBuffer buf = NativeBuffer.allocate(data.remaining());
        buf.buffer().put(0, data, data.position(), data.remaining());
        long off = 0;
        while (off < buf.size()) {
            long n = Native.libc().write(master, buf.pointer().slice(off), buf.size() - off);
            if (n < 0 && (Native.errno() == EINTR || Native.errno() == EAGAIN)) {
                continue;
            }
            if (n <= 0) {
                return false;
            }
            off += n;
        }
        return true;
    }

    /** TIOCSWINSZ: the process sees SIGWINCH. NOT_FOUND once the terminal is closed. */
    public void resize(int width, int height) throws SandboxException {
        if (width < 0 || height < 0 || width > 0xFFFF || height > 0xFFFF) {
            throw SandboxException.invalid("window size " + width + "x" + height + " is out of range");
        }
        if (!retain()) {
            throw SandboxException.notFound("terminal", "of " + what + " (closed)");
        }
        try {
            NativeBuffer ws = NativeBuffer.allocate(8); // struct winsize: rows, cols, xpixel, ypixel
            ws.buffer().putShort(0, (short) height).putShort(2, (short) width);
            if (Native.libc().ioctl(master, TIOCSWINSZ, ws.pointer()) != 0) {
                throw SandboxException.internal("cannot resize the terminal of " + what,
                        Native.failure("ioctl(TIOCSWINSZ)"));
            }
        } finally {
            release();
        }
    }

    /** Ends the copying and closes this JVM's fd of the master; the process and its terminal go on. */
    public void stop() {
        stopped = true;
        FileChannel in = stdinChannel;
        if (in != null) {
            try {
                in.close(); // wakes the stdin copier blocked in read
            } catch (IOException ignored) {
                // closed already
            }
        }
    }

    private void ended() {
        try {
            onEnd.run();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "cleaning up after the terminal of " + what + " failed", e);
        }
    }

    /** Takes a reference; false when the terminal was already closed. */
    private synchronized boolean retain() {
        if (refs == 0) {
            return false;
        }
        refs++;
        return true;
    }

    private void release() {
        boolean last;
        synchronized (this) {
            last = refs > 0 && --refs == 0;
        }
        if (last) {
            Native.libc().close(master);
        }
    }

    synchronized boolean isOpen() {
        return refs > 0;
    }
}
