package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.StdioRedirects;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;

/**
 * What the guest agent makes for a process's stdio: output pipes it buffers, a stdin pipe, or a pty whose output is
 * stdout (containerd gives a terminal process no stderr). The host copies containerd's FIFOs to and from them.
 */
record GuestStdio(boolean stdout, boolean stderr, boolean terminal, boolean stdin) {
    private static final String REFUSER = "the vmm sandboxer";

    /** The guest's side of containerd's {@code stdio}; INVALID_ARGUMENT or UNIMPLEMENTED for a stream it cannot serve. */
    static GuestStdio of(Stdio stdio) throws SandboxException {
        String in = StdioRedirects.path(stdio.stdin(), "stdin", REFUSER);
        String out = StdioRedirects.path(stdio.stdout(), "stdout", REFUSER);
        String err = StdioRedirects.path(stdio.stderr(), "stderr", REFUSER);
        return new GuestStdio(out != null, err != null && !stdio.terminal(), stdio.terminal(), in != null);
    }

    /** containerd's path of one stream ({@code which} names it), null if none: a stream refused at Create never runs. */
    static String fifo(String stream, String which) {
        try {
            return StdioRedirects.path(stream, which, REFUSER);
        } catch (SandboxException refusedAtCreate) {
            return null;
        }
    }
}
