package io.kuasar.driver.quark;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskEvents;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * How the exits of a gVisor pod's processes become known: the processes run inside the sandbox, out of reach of
 * wait(2), so each running container has a {@code runsc wait} helper on the host (measured: 20 MB RSS, 7 MB PSS,
 * each, for as long as the container runs) whose JSON answer carries the exit code; an exec's code is the exit
 * status of its foreground {@code runsc exec}. Recorded exits are persisted, published, then handed to waiters.
 */
final class RunscExits {
    private static final Logger LOG = Logger.getLogger(RunscExits.class.getName());

    private final Pod pod;
    private final Runsc runsc;
    private final PodStore store;
    private final TaskEvents events;
    private volatile boolean closing;

    RunscExits(Pod pod, Runsc runsc, PodStore store, TaskEvents events) {
        this.pod = pod;
        this.runsc = runsc;
        this.store = store;
        this.events = events;
    }

    /** Starts the container's runsc wait; when it ends, its JSON carries the init's exit code. */
    void watchInit(RunscContainer c) {
        try {
            Process w = runsc.startWait(c.id);
            c.init.helper = w;
            w.onExit().thenAccept(p -> {
                String out;
                try {
                    out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    out = "";
                }
                if (closing) {
                    return; // ended because this driver instance goes away: the next one watches again
                }
                int code = Runsc.parseWait(out);
                exited(c, c.init, code < 0 ? ExitStatus.UNKNOWN_CODE : code);
            });
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot watch container " + c.id + "; its exit will read as unknown", e);
            exited(c, c.init, ExitStatus.UNKNOWN_CODE);
        }
    }

    /** Records an exit once, persists it, publishes Exited, then completes the waiters. */
    void exited(RunscContainer c, GProc p, int code) {
        if (!p.recordExit(new ExitStatus(p.pid(), code, Instant.now()))) {
            return;
        }
        try {
            store.save(pod);
        } catch (SandboxException e) {
            LOG.log(Level.WARNING, "cannot persist the exit of " + c.id, e);
        }
        events.publish(new TaskEvent.Exited(pod.id, c.id, p.execId, p.exit()));
        p.completeWaiters();
    }

    /** Ends the runsc wait helpers without recording exits: the sandbox outlives this driver instance. */
    void close() {
        closing = true;
        for (RunscContainer c : pod.containerList()) {
            Process w = c.init.helper;
            if (w != null) {
                w.destroy();
            }
        }
    }
}
