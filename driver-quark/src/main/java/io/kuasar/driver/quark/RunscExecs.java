package io.kuasar.driver.quark;

import io.kuasar.driver.kit.PodStore;
import static io.kuasar.driver.quark.RunscTasks.RUNSC_SANDBOXER;

import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.ProcStat;
import io.kuasar.driver.kit.tty.Pty;
import io.kuasar.driver.kit.tty.Terminals;
import io.kuasar.spi.ExecSpec;
import io.kuasar.spi.Identifiers;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskEvents;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The exec processes of a gVisor pod's containers: each is a {@code runsc exec} in the foreground on the host, its
 * spec in the container's work dir, and persisted with the pod from Exec to Delete, so a call the keeper replays after
 * a JVM crash finds it. {@link #add} takes the container's {@code ops} lock; {@link #start} runs under it.
 */
final class RunscExecs {
    private static final Logger LOG = System.getLogger(RunscExecs.class.getName());
    /** How long a Kill waits for an exec's Start in flight, then for runsc exec to write the pid inside. */
    private static final Duration EXEC_PID_WAIT = Duration.ofSeconds(30);

    private final Pod pod;
    private final Runsc runsc;
    private final PodStore<Pod, PersistedPod> store;
    private final TaskEvents events;
    private final RunscExits exits;
    private final Path workRoot;

    RunscExecs(Pod pod, Runsc runsc, PodStore<Pod, PersistedPod> store, TaskEvents events, RunscExits exits,
               Path workRoot) {
        this.pod = pod;
        this.runsc = runsc;
        this.store = store;
        this.events = events;
        this.exits = exits;
        this.workRoot = workRoot;
    }

    private Path workDir(String containerId) {
        return workRoot.resolve(containerId);
    }

    /** Records an exec process (containerd's Exec): its spec in the work dir, itself with the pod. */
    void add(RunscContainer c, ExecSpec spec) throws SandboxException {
        String execId = Identifiers.validate("exec", spec.execId());
        Terminals.redirects(spec.stdio(), RUNSC_SANDBOXER);
        c.ops.lock();
        try {
            c.requireRunning();
            if (c.execReplayed(execId, spec.stdio(), GProc::started)) {
                return; // its spec was written the first time
            }
            Path processJson = HostFiles.privateDir(workDir(c.id)).resolve("exec-" + execId + ".json");
            AtomicFiles.writeAtomically(processJson, spec.spec().value());
            c.execs.put(execId, new GProc(execId, spec.stdio()));
            store.save(pod); // a replayed Start after a JVM crash finds it
            events.publish(new TaskEvent.ExecAdded(pod.id, c.id, execId));
        } catch (IOException e) {
            throw SandboxException.internal("cannot write the process spec of exec " + execId, e);
        } finally {
            c.ops.unlock();
        }
    }

    /** Starts the exec with a runsc exec helper, whose exit status is the exec's (see Runsc.RECORD_EXIT). */
    long start(RunscContainer c, GProc p) throws SandboxException {
        if (p.started() || p.exit() != null) {
            if (p.started() && p.pid() > 0) {
                return p.pid(); // a replayed (or repeated) Start answers what the first one did
            }
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "exec " + p.execId + " in " + c.id + " was already started");
        }
        p.startBegins("exec " + p.execId + " of " + c.id);
        Process helper;
        try {
            c.requireRunning();
            Path work = workDir(c.id);
            String what = "exec " + p.execId + " of " + c.id;
            Pty pty = p.stdio.terminal() ? Terminals.openPty(what) : null;
            try {
                helper = runsc.startExec(c.id, work.resolve("exec-" + p.execId + ".json"),
                        work.resolve("exec-" + p.execId + ".pid"), RunscExits.execExitFile(work, p.execId),
                        Terminals.redirects(p.stdio, RUNSC_SANDBOXER), pty == null ? null : pty.replica());
                if (pty != null) {
                    helper.onExit().thenRun(pty::close); // the JVM's replica fd: the terminal reads as open till then
                    p.console = pty.take(p.stdio, what, Terminals.holderRecord(work, p.execId));
                }
            } catch (IOException e) {
                closeQuietly(pty);
                throw SandboxException.internal("cannot start runsc exec for " + p.execId + " in " + c.id, e);
            } catch (SandboxException | RuntimeException e) {
                closeQuietly(pty);
                throw e;
            }
            p.helper = helper;
            p.helperStart = ProcStat.startTime(helper.pid());
            p.created(helper.pid());
            p.running();
            saveQuietly("the start of exec " + p.execId + " of " + c.id);
        } finally {
            p.startEnds();
        }
        events.publish(new TaskEvent.ExecStarted(pod.id, c.id, p.execId, helper.pid()));
        exits.watchExec(c, p, helper, workDir(c.id));
        return helper.pid();
    }

    private static void closeQuietly(Pty pty) {
        if (pty != null) {
            pty.close();
        }
    }

    /** Signals an exec: the process inside gVisor, by its pid there (signalling runsc exec would not reach it). */
    void signal(RunscContainer c, GProc p, int signal) throws SandboxException {
        String what = "exec " + p.execId + " of " + c.id;
        p.beforeSignal(what, signal, EXEC_PID_WAIT);
        long inside = sandboxPid(c, p);
        if (inside > 0) {
            runsc.killPid(c.id, inside, signal);
        } else if (p.helperAlive()) {
            throw new SandboxException(SandboxException.Code.DEADLINE_EXCEEDED, what
                    + ": runsc exec has not written its process's pid within " + EXEC_PID_WAIT.toSeconds() + " s");
        } else {
            throw SandboxException.notFound("process", what + " (already finished)");
        }
    }

    /**
     * The exec's pid inside the sandbox, from runsc exec's {@code --internal-pid-file}, which it writes a little
     * after it was started: waits for it while runsc exec runs. Killing runsc exec itself would not reach the
     * process inside gVisor. 0 when runsc exec ended without writing it (the process never ran).
     */
    private long sandboxPid(RunscContainer c, GProc p) throws SandboxException {
        Path file = workDir(c.id).resolve("exec-" + p.execId + ".pid");
        long end = System.nanoTime() + EXEC_PID_WAIT.toNanos();
        while (p.sandboxPid == 0) {
            try {
                p.sandboxPid = Long.parseLong(Files.readString(file).trim());
            } catch (IOException | NumberFormatException e) {
                if (!p.helperAlive() || System.nanoTime() > end) {
                    return 0;
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new SandboxException(SandboxException.Code.CANCELLED, "interrupted");
                }
            }
        }
        return p.sandboxPid;
    }

    /**
     * Persists a step already taken (the exec runs, or is gone): failing the call for it would only make containerd
     * retry what is done. The next save, at the latest the exit's, writes it.
     */
    void saveQuietly(String what) {
        try {
            store.save(pod);
        } catch (SandboxException e) {
            LOG.log(Level.WARNING, "cannot persist " + what, e);
        }
    }
}
