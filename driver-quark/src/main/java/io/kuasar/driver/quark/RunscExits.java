package io.kuasar.driver.quark;

import io.kuasar.driver.kit.PodStore;
import io.kuasar.driver.kit.ExitFiles;
import io.kuasar.driver.kit.FifoHold;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.OrphanExits;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskEvents;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * How the exits of a gVisor pod's processes become known: the processes run inside the sandbox, out of reach of
 * wait(2), so each running container has a {@code runsc wait} helper on the host (measured: 20 MB RSS, 7 MB PSS,
 * each, for as long as the container runs) whose JSON answer carries the exit code; an exec's code is the exit
 * status of its foreground {@code runsc exec}. Recorded exits are persisted, published, then handed to waiters.
 *
 * <p>An exec's helper is a child of the JVM that started it. When this driver instance goes away first (an upgrade),
 * its exit is handed over in {@code exec-ID.exit} ({@link ExitFiles}); when the JVM dies first, the keeper reaps the
 * helper and records the code ({@link OrphanExits}). A restarted driver watches the helper again and takes the code
 * from whichever of the two has it.
 */
final class RunscExits {
    private static final Logger LOG = System.getLogger(RunscExits.class.getName());
    /** How long the keeper or the previous instance may take to record an exit after the helper is gone. */
    private static final Duration RECORD_WAIT = Duration.ofSeconds(3);

    private final Pod pod;
    private final Runsc runsc;
    private final PodStore<Pod, PersistedPod> store;
    private final TaskEvents events;
    private final OrphanExits orphans;
    /**
     * Held while an exit is recorded; {@link #close} sets {@link #closing} under it, so once close() returned no
     * exit is being recorded and none will be: a successor that reads the pod's record next finds every exit this
     * instance published, and this instance publishes none after it.
     */
    private final Object recording = new Object();
    private volatile boolean closing;

    RunscExits(Pod pod, Runsc runsc, PodStore<Pod, PersistedPod> store, TaskEvents events, OrphanExits orphans) {
        this.pod = pod;
        this.runsc = runsc;
        this.store = store;
        this.events = events;
        this.orphans = orphans;
        ExitFiles.class.getName(); // loaded now: exec exits may be handed over after this bundle was updated
    }

    /** Where an exec's exit is handed over to the next driver instance. */
    static Path execExitFile(Path workDir, String execId) {
        return workDir.resolve("exec-" + execId + ".exit");
    }

    /** Records the exec's exit when its runsc exec helper, this instance's child, ends. */
    void watchExec(RunscContainer c, GProc p, Process helper, Path workDir) {
        helper.onExit().thenAccept(h -> {
            if (!exited(c, p, h.exitValue(), Instant.now())) {
                ExitFiles.write(execExitFile(workDir, p.execId), h.exitValue(), Instant.now());
            }
        });
    }

    /**
     * Watches an exec a previous driver instance or JVM started: once its helper is gone, its code comes from the
     * instance that saw it end, or from the keeper.
     */
    void rewatchExec(RunscContainer c, GProc p, Path workDir) {
        ExitFiles.collect(execExitFile(workDir, p.execId), orphans, p.pid(), p.helperStart, RECORD_WAIT,
                        "exec " + p.execId + " of " + c.id)
                .thenAccept(e -> exited(c, p, e.code(), e.exitedAt()));
    }

    /**
     * Starts the container's runsc wait; when it ends, its JSON carries the init's exit code. Nothing when this
     * instance is closing, or the container is gone or known to have ended meanwhile (a recovery starts its waits
     * in the background).
     */
    void watchInit(RunscContainer c) {
        if (closing || c.deleted || c.init.exit() != null) {
            return;
        }
        try {
            Process w = runsc.startWait(c.id);
            c.init.helper = w;
            if (closing) {
                w.destroy(); // close() ran meanwhile and may not have seen this helper (both fields are volatile)
            }
            w.onExit().thenAccept(p -> {
                String out;
                try {
                    out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    out = "";
                }
                // not recorded when it ended because this instance let go of the pod: the next one watches again
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
        exited(c, p, code, Instant.now());
    }

    /**
     * {@link #exited(RunscContainer, GProc, int)} at {@code at}; false when this instance has let go of the pod
     * ({@link #close}), which then records nothing: its successor learns the exit itself.
     */
    boolean exited(RunscContainer c, GProc p, int code, Instant at) {
        synchronized (recording) {
            if (closing) {
                return false;
            }
            if (!p.recordExit(new ExitStatus(p.pid(), code, at))) {
                return true;
            }
            FifoHold hold = c.outputHold;
            if (p.execId.isEmpty() && hold != null) {
                c.outputHold = null;
                hold.close();
            }
            try {
                store.save(pod);
            } catch (SandboxException e) {
                LOG.log(Level.WARNING, "cannot persist the exit of " + c.id, e);
            }
            events.publish(new TaskEvent.Exited(pod.id, c.id, p.execId, p.exit()));
        }
        // outside the lock: a waiter's continuation may be the host's, which may go on to release this very pod
        p.completeWaiters();
        return true;
    }

    /** The pod's sandbox is gone (found at a re-attach): unknown exits for what had not ended, nothing left to delete. */
    void sandboxGone() {
        for (RunscContainer c : pod.containerList()) {
            if (c.init.exit() == null) {
                exited(c, c.init, ExitStatus.UNKNOWN_CODE);
            }
            for (GProc x : c.execs.values()) {
                if (x.exit() == null && x.started()) {
                    exited(c, x, ExitStatus.UNKNOWN_CODE);
                }
            }
            c.deleted = true;
        }
    }

    /**
     * Ends the runsc wait helpers without recording exits (the sandbox outlives this driver instance, or the pod is
     * handed to a successor); exec helpers run on, their exits handed over to the next instance. Returns once no exit
     * is being recorded.
     */
    void close() {
        synchronized (recording) {
            closing = true;
        }
        for (RunscContainer c : pod.containerList()) {
            Process w = c.init.helper;
            if (w != null) {
                w.destroy();
            }
        }
    }
}
