package io.kuasar.driver.runc.task;

import io.kuasar.driver.runc.DriverContext;
import io.kuasar.driver.runc.pod.Sandbox;
import io.kuasar.driver.runc.process.ExitWatcher;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskEvent;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.time.Duration;
import java.time.Instant;

/**
 * What happens when a process of a sandbox ends: record the exit, persist it (so a restarted driver still knows
 * the code), publish Exited, then complete the Wait futures. Also writes the sandbox's state file for the task
 * service, under the sandbox's monitor so snapshots reach the disk in order.
 *
 * <p>Exits are recorded under this object's monitor, so that {@link #release} (a handover) waits for one under way
 * and none is recorded after it: the successor owns the sandbox's record and its processes from then on.
 */
public final class ExitRecorder {
    private static final Logger LOG = System.getLogger(ExitRecorder.class.getName());

    /** How long the keeper may take to write its record after the process was seen gone (it writes after reaping). */
    private static final Duration ORPHAN_RECORD_WAIT = Duration.ofSeconds(3);

    private final Sandbox sb;
    private final DriverContext ctx;
    /** Set by {@link #release}; guarded by this. */
    private boolean released;

    ExitRecorder(Sandbox sb, DriverContext ctx) {
        this.sb = sb;
        this.ctx = ctx;
    }

    void persist() throws SandboxException {
        synchronized (sb) {
            ctx.store().save(sb);
        }
    }

    /** Starts watching {@code p}'s pid; its exit is then recorded through {@link #exited}. */
    public void watch(Container c, Proc p) throws SandboxException {
        try {
            ctx.watcher().watch(this, p.pid(), p.startTime(), code -> {
                if (code == ExitWatcher.NOT_COLLECTED) {
                    collectFromKeeper(c, p);
                } else {
                    exited(c, p, code);
                }
            });
        } catch (IOException e) {
            throw SandboxException.internal("cannot watch pid " + p.pid() + " of " + c.id, e);
        }
    }

    /**
     * Records the exit of a process that is not our child (or is gone) from the keeper's record: its true code, or
     * 255 without one. Asynchronous; recorded once like any exit.
     */
    public void collectFromKeeper(Container c, Proc p) {
        String what = p.execId.isEmpty() ? "container " + c.id : "exec " + p.execId + " of " + c.id;
        ctx.orphans().exitOf(p.pid(), p.startTime(), ORPHAN_RECORD_WAIT, what).thenAccept(e -> {
            synchronized (this) {
                if (!released) { // else the successor asks the keeper itself: its record must stay for it
                    exited(c, p, e.code(), e.exitedAt());
                    ctx.orphans().consumed(p.pid(), p.startTime());
                }
            }
        });
    }

    /**
     * Handover: stops watching the sandbox's processes, reaping none, and records no exit from now on (nor takes a
     * keeper's record). Returns once an exit being recorded is persisted, so the successor reads it.
     */
    public void release() {
        ctx.watcher().unwatch(this); // first: a collection under way may still take this monitor
        synchronized (this) {
            released = true;
        }
    }

    /** Records an exit (from the watcher thread, or from recovery for a process found gone). */
    void exited(Container c, Proc p, int code) {
        exited(c, p, code, Instant.now());
    }

    synchronized void exited(Container c, Proc p, int code, Instant at) {
        if (released) {
            return;
        }
        Proc.Recorded r = p.exited(new ExitStatus(p.pid(), code, at));
        if (r == Proc.Recorded.ALREADY) {
            return;
        }
        if (RuncResources.oomKilledSince(c)) {
            // before Exited, so CRI has the reason OOMKilled when it records the exit
            try {
                ctx.events().publish(new TaskEvent.OutOfMemory(sb.id, c.id));
            } catch (RuntimeException ex) {
                LOG.log(Level.WARNING, "publishing the OOM kill in " + c.id + " failed", ex);
            }
        }
        try {
            persist();
        } catch (SandboxException e) {
            LOG.log(Level.WARNING, "cannot persist the exit of " + c.id + " " + p.execId, e);
        }
        if (r == Proc.Recorded.ANNOUNCE) {
            announce(c, p); // a HELD exit is announced by create/start once its own event is out
        }
    }

    /** Publishes Exited and completes the waiters of a recorded exit. */
    void announce(Container c, Proc p) {
        ExitStatus e = p.exit();
        if (e == null) {
            return;
        }
        try {
            ctx.events().publish(new TaskEvent.Exited(sb.id, c.id, p.execId, e));
        } catch (RuntimeException ex) {
            LOG.log(Level.WARNING, "publishing the exit of " + c.id + " failed", ex);
        }
        p.completeWaiters();
    }
}
