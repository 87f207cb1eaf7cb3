package io.kuasar.driver.quark;

import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import java.io.File;
import java.net.URI;
import java.net.URISyntaxException;

/**
 * containerd's stdio strings as redirects of the runsc process that hands them to the container. The JVM opens the
 * FIFOs, gives the fds to runsc and closes its copies: no byte of output passes through this process.
 */
record Redirects(ProcessBuilder.Redirect in, ProcessBuilder.Redirect out, ProcessBuilder.Redirect err) {
    static final Redirects NONE = new Redirects(ProcessBuilder.Redirect.from(Fs.DEV_NULL),
            ProcessBuilder.Redirect.DISCARD, ProcessBuilder.Redirect.DISCARD);

    void applyTo(ProcessBuilder pb) {
        pb.redirectInput(in).redirectOutput(out).redirectError(err);
    }

    static Redirects of(Stdio stdio) throws SandboxException {
        if (stdio.terminal()) {
            throw new SandboxException(SandboxException.Code.UNIMPLEMENTED,
                    "terminal containers are not supported by the runsc sandboxer yet (runsc needs a console socket)");
        }
        String in = path(stdio.stdin(), "stdin");
        String out = path(stdio.stdout(), "stdout");
        String err = path(stdio.stderr(), "stderr");
        return new Redirects(ProcessBuilder.Redirect.from(in == null ? Fs.DEV_NULL : new File(in)),
                out == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.appendTo(new File(out)),
                err == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.appendTo(new File(err)));
    }

    /** A path or file:// / fifo:// URI as a path; null when empty. Logging plugins (binary://) are refused. */
    static String path(String s, String which) throws SandboxException {
        if (s == null || s.isEmpty()) {
            return null;
        }
        if (s.startsWith("/")) {
            return s;
        }
        try {
            URI u = new URI(s);
            String scheme = u.getScheme() == null ? "" : u.getScheme();
            if ((scheme.equals("file") || scheme.equals("fifo")) && u.getPath() != null && u.getPath().startsWith("/")) {
                return u.getPath();
            }
            throw new SandboxException(SandboxException.Code.UNIMPLEMENTED,
                    which + " \"" + s + "\": only paths and file:// URIs are supported by the runsc sandboxer");
        } catch (URISyntaxException e) {
            throw SandboxException.invalid(which + " \"" + s + "\" is neither a path nor a URI");
        }
    }
}
