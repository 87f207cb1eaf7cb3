package io.kuasar.driver.quark;

import io.kuasar.driver.kit.ProcStat;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.List;

/**
 * The {@code runsc wait} helpers a previous JVM left: re-parented to the keeper, each holds ~7 MB PSS until its
 * container ends, and the new waits get the same code from the sandbox, so they are ended. This JVM's own helpers are
 * left alone (a driver restart ends its waits itself, {@link RunscExits#close}). It reads every process's command
 * line (10-40 ms of an upgrade's gap), so it runs in the background: nothing a recovery answers depends on it.
 */
final class LeftWaits {
    private static final Logger LOG = System.getLogger(LeftWaits.class.getName());

    private LeftWaits() {
    }

    /** Ends the runsc waits on sandboxes under {@code podsRoot} that this JVM did not start. */
    static void end(Path podsRoot) {
        long self = ProcessHandle.current().pid();
        String ours = "--root=" + podsRoot + "/";
        for (ProcStat s : ProcStat.all()) {
            if (s.ppid() == self) {
                continue;
            }
            List<String> argv = ProcStat.cmdline(s.pid());
            int wait = argv.indexOf("wait");
            if (wait > 0 && wait == argv.size() - 2 && argv.stream().anyMatch(a -> a.startsWith(ours))) {
                LOG.log(Level.INFO, "ending runsc wait " + s.pid() + " left by a previous node process: "
                        + argv.get(wait + 1));
                ProcessHandle.of(s.pid()).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }
}
