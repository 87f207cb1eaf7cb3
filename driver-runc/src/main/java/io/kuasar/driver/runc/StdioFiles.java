package io.kuasar.driver.runc;

import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import java.io.File;
import java.net.URI;
import java.net.URISyntaxException;

/**
 * Turns containerd's stdio strings into redirects for the runc process, whose fds the container then inherits.
 * ProcessBuilder opens the files in this JVM, hands the fds to the child and closes its own copies, so nothing of
 * the container's output passes through the JVM. Opening a FIFO blocks until its other end is open, which
 * containerd does before it calls Create.
 */
final class StdioFiles {
    /** The three redirects, ready to apply. */
    record Redirects(ProcessBuilder.Redirect in, ProcessBuilder.Redirect out, ProcessBuilder.Redirect err) {
        void applyTo(ProcessBuilder pb) {
            pb.redirectInput(in).redirectOutput(out).redirectError(err);
        }
    }

    private StdioFiles() {
    }

    static Redirects of(Stdio stdio) throws SandboxException {
        if (stdio.terminal()) {
            throw new SandboxException(SandboxException.Code.UNIMPLEMENTED, "terminal containers are not supported yet");
        }
        String in = path(stdio.stdin(), "stdin");
        String out = path(stdio.stdout(), "stdout");
        String err = path(stdio.stderr(), "stderr");
        return new Redirects(
                ProcessBuilder.Redirect.from(in == null ? Commands.DEV_NULL : new File(in)),
                out == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.appendTo(new File(out)),
                err == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.appendTo(new File(err)));
    }

    /** A plain path or file:// URI as a path; null when empty; binary:// (a logging plugin) is not supported. */
    static String path(String s, String which) throws SandboxException {
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
                    which + " \"" + s + "\": binary:// logging plugins are not supported by the runc driver");
            default -> throw SandboxException.invalid(which + " \"" + s + "\" has unsupported scheme " + scheme);
        }
    }
}
