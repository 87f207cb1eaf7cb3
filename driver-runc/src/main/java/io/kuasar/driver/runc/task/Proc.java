package io.kuasar.driver.runc.task;

import io.kuasar.driver.kit.ProcessRecord;
import io.kuasar.driver.runc.pod.PersistedState;
import io.kuasar.driver.kit.tty.Console;
import io.kuasar.driver.runc.process.Syscalls;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskState;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;

/**
 * One process of a container: its init (execId empty) or an exec. The monitor guards pid, status and exit; the
 * exit watcher records the exit under it before reaping, and {@link #signal} checks under it, so a signal is never
 * sent to a pid that was already reaped (and possibly reused).
 */
public final class Proc extends ProcessRecord {
    /** How long a Kill waits for a Start of the same process in flight (runc exec takes tens of ms). */
    private static final Duration START_WAIT = Duration.ofSeconds(30);
    private long startTime;
    /** While set, an exit is recorded but not announced, so Created/Started always reach containerd first. */
    private boolean held;
    private boolean announcePending;
    /** The pty master of a terminal process while this JVM holds it; null without a terminal or after a restart. */
    public volatile Console console;

    public Proc(String execId, Stdio stdio) {
        super(execId, stdio);
    }

    /** The start time (from /proc) pins the pid: after a restart, a pid with another start time is a reused one. */
    public synchronized void created(long pid, long startTime) {
        created(pid);
        this.startTime = startTime;
    }

    public synchronized long startTime() {
        return startTime;
    }

    /** An exit with a pid also counts: a process that ran and exited before Start returned was started. */
    @Override
    public synchronized boolean started() {
        return status() != TaskState.Status.CREATED || (exit() != null && pid() > 0);
    }

    /** What {@link #exited} did. */
    enum Recorded { ALREADY, ANNOUNCE, HELD }

    /** Records the exit; says whether to announce it now or whether it is held back until {@link #release()}. */
    synchronized Recorded exited(ExitStatus e) {
        if (!recordExit(e)) {
            return Recorded.ALREADY;
        }
        if (held) {
            announcePending = true;
            return Recorded.HELD;
        }
        return Recorded.ANNOUNCE;
    }

    /** Holds back the announcement of an exit during create/start (until the matching event is published). */
    synchronized void hold() {
        held = true;
    }

    /** Ends {@link #hold()}; true when an exit happened meanwhile and must be announced now by the caller. */
    synchronized boolean release() {
        held = false;
        boolean pending = announcePending;
        announcePending = false;
        return pending;
    }

    /** kill(2) while the process is known to be unreaped (see the class comment), after a Start in flight. */
    public synchronized void signal(String what, int signal) throws SandboxException {
        long pid = beforeSignal(what, signal, START_WAIT);
        try {
            Syscalls.kill(pid, signal);
        } catch (IOException e) {
            throw SandboxException.internal("cannot signal " + what, e);
        }
    }

    synchronized PersistedState.Process persisted() {
        ExitStatus exit = exit();
        return new PersistedState.Process(execId, stdio, pid(), startTime, status().name(),
                exit == null ? 0 : exit.code(), exit == null ? null : exit.exitedAt().toString());
    }

    static Proc restore(PersistedState.Process p) {
        Proc proc = new Proc(p.execId(), p.stdio());
        ExitStatus exit = p.exitedAt() == null ? null
                : new ExitStatus(p.pid(), p.exitCode(), Instant.parse(p.exitedAt()));
        proc.restore(p.pid(), TaskState.Status.valueOf(p.status()), exit);
        proc.startTime = p.startTime();
        return proc;
    }
}
