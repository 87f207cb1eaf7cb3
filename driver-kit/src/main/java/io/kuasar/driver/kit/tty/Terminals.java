package io.kuasar.driver.kit.tty;

import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.StdioRedirects;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import java.io.IOException;
import java.nio.file.Path;
import java.util.UUID;

/**
 * The stdio of a process an OCI runtime starts. Without a terminal containerd's FIFOs are handed to the runtime and
 * inherited by the process (no byte passes through this JVM). With one, the runtime gets a console socket
 * ({@link ConsoleSocket}), or the process a pty this JVM made ({@link #openPty}), and this JVM holds the pty master
 * ({@link Console}), copying between it and the FIFOs; a {@link PtyHolder} keeps it across a restart of the node.
 */
public final class Terminals {
    private final Path socketDir;

    /** @param socketDir where console sockets are made: short, since a socket path has at most 107 bytes */
    public Terminals(Path socketDir) {
        this.socketDir = socketDir;
    }

    /**
     * The redirects the runtime gets. For a terminal only the FIFO paths are checked (they are opened by the copiers); a
     * stderr FIFO containerd made anyway is left alone, as its runc shim does: a terminal has one output stream.
     */
    public static StdioRedirects redirects(Stdio stdio, String refusedBy) throws SandboxException {
        if (!stdio.terminal()) {
            return StdioRedirects.of(stdio, refusedBy);
        }
        StdioRedirects.path(stdio.stdin(), "stdin", refusedBy);
        StdioRedirects.path(stdio.stdout(), "stdout", refusedBy);
        StdioRedirects.path(stdio.stderr(), "stderr", refusedBy);
        return StdioRedirects.NONE; // the runtime's own stdio: the terminal carries the process's streams
    }

    /** A console socket for a terminal process; null without a terminal. */
    public ConsoleSocket open(Stdio stdio) throws SandboxException {
        if (!stdio.terminal()) {
            return null;
        }
        try {
            return ConsoleSocket.listen(HostFiles.privateDir(socketDir)
                    .resolve(UUID.randomUUID().toString().substring(0, 13) + ".sock"));
        } catch (IOException e) {
            throw SandboxException.internal("cannot make a console socket", e);
        }
    }

    /**
     * After the runtime succeeded: takes the pty master it sent to {@code socket}, parks a copy in a
     * {@link PtyHolder} (recorded at {@code holderRecord}) and starts copying; null without a terminal. The socket is
     * closed either way.
     */
    public static Console attach(ConsoleSocket socket, Stdio stdio, String what, Path holderRecord)
            throws SandboxException {
        if (socket == null) {
            return null;
        }
        try (socket) {
            return take(socket.receive(), stdio, what, holderRecord);
        } catch (IOException e) {
            throw SandboxException.internal("cannot take the terminal of " + what, e);
        }
    }

    /**
     * A new pty for a process this JVM starts itself (for a runtime that has no console socket for it): the process
     * gets the replica as stdin, stdout and stderr; {@link Pty#take} then holds the master and starts copying.
     */
    public static Pty openPty(String what) throws SandboxException {
        try {
            return Pty.open();
        } catch (IOException e) {
            throw SandboxException.internal("cannot make a terminal for " + what, e);
        }
    }

    /** Holds {@code master} (owned from here on) in a {@link PtyHolder} and starts copying. */
    static Console take(int master, Stdio stdio, String what, Path holderRecord) throws SandboxException {
        try {
            PtyHolder.Held held = PtyHolder.hold(master, StdioRedirects.path(stdio.stdout(), "stdout", what),
                    StdioRedirects.path(stdio.stdin(), "stdin", what), holderRecord);
            return start(master, stdio, what, held, holderRecord);
        } catch (SandboxException | RuntimeException e) {
            Native.libc().close(master);
            throw e;
        }
    }

    /**
     * After a restart of the driver: takes the master of a terminal process back from its holder and copies on;
     * null when there is no holder (the terminal was lost, e.g. with a holder that could not be made).
     */
    public static Console reattach(Stdio stdio, String what, Path holderRecord) {
        PtyHolder.Held held = PtyHolder.find(holderRecord);
        int master = held == null ? -1 : PtyHolder.reclaim(held);
        if (master < 0) {
            return null;
        }
        try {
            return start(master, stdio, what, held, holderRecord);
        } catch (SandboxException e) {
            Native.libc().close(master);
            return null;
        }
    }

    private static Console start(int master, Stdio stdio, String what, PtyHolder.Held held, Path holderRecord)
            throws SandboxException {
        Console console = new Console(master, what, () -> PtyHolder.release(held, holderRecord));
        console.start(StdioRedirects.path(stdio.stdout(), "stdout", what),
                StdioRedirects.path(stdio.stdin(), "stdin", what));
        return console;
    }

    /**
     * The Task API's ResizePty of a process whose terminal is {@code console}: FAILED_PRECONDITION naming the process
     * when it has none here (it asked for none, or it was lost across a restart).
     */
    public static void resize(Console console, String id, String execId, int width, int height)
            throws SandboxException {
        if (console == null) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "process " + id
                    + (execId == null || execId.isEmpty() ? "" : " exec " + execId) + " has no terminal here");
        }
        console.resize(width, height);
    }

    /** Where the holder of {@code execId}'s terminal (init: empty) is recorded in the container's work dir. */
    public static Path holderRecord(Path workDir, String execId) {
        return workDir.resolve(execId == null || execId.isEmpty() ? "tty-init.holder" : "tty-exec-" + execId + ".holder");
    }

    /**
     * Records the holders under {@code root} (a driver's work dirs) a killed JVM spawned and never recorded, or ends
     * those whose work dir is gone. Called by a recovering driver before it reattaches or removes anything.
     *
     * @since 1.1
     */
    public static void recordLeftHolders(Path root) {
        PtyHolder.recordLeft(root);
    }

    /** Ends every holder recorded in a container's work dir (the container is being removed). */
    public static void releaseHolders(Path workDir) {
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(workDir)) {
            files.filter(f -> f.getFileName().toString().endsWith(".holder"))
                    .forEach(f -> PtyHolder.release(PtyHolder.find(f), f));
        } catch (IOException ignored) {
            // no work dir: no holders
        }
    }

    /** Closes a console socket that the runtime did not use (it failed). */
    public static void discard(ConsoleSocket socket) {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // a stray socket file in the driver's run dir is harmless
            }
        }
    }
}
