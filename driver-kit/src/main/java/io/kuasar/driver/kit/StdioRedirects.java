package io.kuasar.driver.kit;

import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import java.io.File;
import java.net.URI;
import java.net.URISyntaxException;

/**
 * containerd's stdio strings as redirects of the runtime process (runc, runsc, ...) that hands them to the container.
 * ProcessBuilder opens the files in this JVM, gives the fds to the child and closes its own copies, so no byte of the
 * container's output passes through the JVM. Opening a FIFO blocks until its other end is open, which containerd does
 * before it calls Create.
 */
public record StdioRedirects(ProcessBuilder.Redirect in, ProcessBuilder.Redirect out, ProcessBuilder.Redirect err) {
    /** No stdio at all: stdin from /dev/null, output discarded. */
    public static final StdioRedirects NONE = new StdioRedirects(ProcessBuilder.Redirect.from(Commands.DEV_NULL),
            ProcessBuilder.Redirect.DISCARD, ProcessBuilder.Redirect.DISCARD);

    public void applyTo(ProcessBuilder pb) {
        pb.redirectInput(in).redirectOutput(out).redirectError(err);
    }

    /**
     * The redirects for {@code stdio}. Terminals and logging plugins are refused with UNIMPLEMENTED naming
     * {@code refusedBy} (e.g. "the runc driver"): they need a console socket resp. a plugin process, which no driver
     * provides yet.
     */
    public static StdioRedirects of(Stdio stdio, String refusedBy) throws SandboxException {
        if (stdio.terminal()) {
            throw new SandboxException(SandboxException.Code.UNIMPLEMENTED,
                    "terminal containers are not supported by " + refusedBy + " yet");
        }
        String in = path(stdio.stdin(), "stdin", refusedBy);
        String out = path(stdio.stdout(), "stdout", refusedBy);
        String err = path(stdio.stderr(), "stderr", refusedBy);
        return new StdioRedirects(
                ProcessBuilder.Redirect.from(in == null ? Commands.DEV_NULL : new File(in)),
                out == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.appendTo(new File(out)),
                err == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.appendTo(new File(err)));
    }

    /**
     * A plain path or a file:// / fifo:// URI as a path; null when empty. binary:// (a logging plugin) is
     * UNIMPLEMENTED; anything else is INVALID_ARGUMENT. {@code which} names the stream in messages.
     */
    public static String path(String s, String which, String refusedBy) throws SandboxException {
        if (s == null || s.isEmpty()) {
            return null;
        }
        if (s.startsWith("/")) {
            return s;
        }
        URI u;
        try {
            u = new URI(s);
        } catch (URISyntaxException e) {
            throw SandboxException.invalid(which + " \"" + s + "\" is neither a path nor a URI");
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme();
        switch (scheme) {
            case "file", "fifo" -> {
                if (u.getPath() == null || !u.getPath().startsWith("/")) {
                    throw SandboxException.invalid(which + " \"" + s + "\" has no absolute path");
                }
                return u.getPath();
            }
            case "binary" -> throw new SandboxException(SandboxException.Code.UNIMPLEMENTED,
                    which + " \"" + s + "\": binary:// logging plugins are not supported by " + refusedBy);
            default -> throw SandboxException.invalid(which + " \"" + s + "\" has unsupported scheme " + scheme);
        }
    }
}
