package io.kuasar.wasm.engine.wasmtime.internal;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import jnr.ffi.Runtime;

/**
 * A module's stdout or stderr: Wasmtime writes into a pipe of this relay, whose thread copies to the container's
 * file or FIFO. containerd reads that FIFO until every writer has closed it; were Wasmtime itself the writer, a
 * module killed while blocked in a WASI call (which Wasmtime cannot interrupt) would keep it open, and the pod's
 * stop would wait for it. The relay closes the FIFO when the module ends or when it is given up on.
 */
final class OutputRelay implements Runnable {
    private static final int O_CLOEXEC = 02000000;

    private final InputStream in;
    private final OutputStream out;
    private final Path writeEnd;
    private final int writeFd;
    private final LibC libc;
    private final Thread thread;

    private OutputRelay(LibC libc, InputStream in, OutputStream out, int writeFd, String name) {
        this.libc = libc;
        this.in = in;
        this.out = out;
        this.writeFd = writeFd;
        this.writeEnd = Path.of("/proc/self/fd/" + writeFd);
        this.thread = new Thread(this, name);
        thread.setDaemon(true);
    }

    /** Opens {@code target} for appending (a FIFO: once containerd reads it) and a pipe to it. */
    static OutputRelay open(LibC libc, String target, String name) throws IOException {
        int[] fds = new int[2];
        if (libc.pipe2(fds, O_CLOEXEC) != 0) {
            throw new IOException("pipe2: " + libc.strerror(Runtime.getRuntime(libc).getLastError()));
        }
        try {
            InputStream in = new FileInputStream("/proc/self/fd/" + fds[0]);
            OutputStream out = new FileOutputStream(target, true);
            OutputRelay relay = new OutputRelay(libc, in, out, fds[1], name);
            relay.thread.start();
            return relay;
        } catch (IOException | RuntimeException e) {
            libc.close(fds[1]);
            throw e;
        } finally {
            libc.close(fds[0]); // the stream holds its own descriptor of the read end
        }
    }

    /** What Wasmtime opens as the stream: the pipe's write end. */
    Path writeEnd() {
        return writeEnd;
    }

    /** Once Wasmtime has opened its own write end: the relay ends when that one closes. */
    void releaseWriteEnd() {
        libc.close(writeFd);
    }

    @Override
    public void run() {
        byte[] buf = new byte[8192];
        try (in; out) {
            for (int n; (n = in.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
            }
        } catch (IOException ignored) {
            // the reader went away, or the relay was given up on: nothing more can be delivered
        }
    }

    /** Waits for the copy of everything the module wrote, then a bounded time; false when it did not end. */
    boolean awaitEnd(long millis) throws InterruptedException {
        thread.join(TimeUnit.MILLISECONDS.toMillis(millis));
        return !thread.isAlive();
    }

    /** The module is given up on (blocked in a WASI call after a kill): closes the container's FIFO now. */
    void abandon() {
        try {
            out.close();
        } catch (IOException ignored) {
            // closed either way
        }
    }
}
