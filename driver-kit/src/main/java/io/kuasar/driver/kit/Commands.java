package io.kuasar.driver.kit;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a helper command to completion with its output captured, for the few tools a driver shells out to. */
public final class Commands {
    /** What a helper gets as stdin (and a container's stdio when containerd gave none). */
    public static final File DEV_NULL = new File("/dev/null");

    private Commands() {
    }

    /**
     * Runs {@code argv}; returns its output (stdout and stderr, trimmed); throws with that output when the command
     * fails, and kills it when it does not finish within {@code timeoutSeconds}.
     */
    public static String run(List<String> argv, long timeoutSeconds) throws IOException {
        Process p = new ProcessBuilder(argv).redirectInput(DEV_NULL).redirectErrorStream(true).start();
        // Output is small (a message at most); reading before waiting avoids a full pipe stalling the child.
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(argv.get(0) + " did not finish within " + timeoutSeconds + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + argv.get(0), e);
        }
        String text = new String(out, StandardCharsets.UTF_8).trim();
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", argv) + " failed (exit " + p.exitValue() + ")"
                    + (text.isEmpty() ? "" : ": " + text));
        }
        return text;
    }
}
