package io.kuasar.driver.runc;

import io.kuasar.driver.kit.ProcStat;
import io.kuasar.driver.runc.pod.PersistedState;
import io.kuasar.driver.runc.pod.PodNamespaces;
import io.kuasar.driver.runc.pod.Sandbox;
import io.kuasar.driver.kit.tty.Terminals;
import io.kuasar.driver.runc.task.Container;
import io.kuasar.driver.runc.task.ExitRecorder;
import io.kuasar.driver.runc.task.Proc;
import io.kuasar.driver.runc.task.RuncTasks;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskState;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Re-attaches a (re)started driver to the sandboxes it persisted, or a successor instance to one sandbox its
 * predecessor handed over ({@link #reattach}, the step both share). A recorded process that still exists (same pid
 * and /proc start time) is watched again through a pidfd: still our child (the driver bundle was restarted in this
 * JVM), its exit status is collected exactly; not our child (a new host JVM: the process was reparented to the
 * node's keeper), its exit code comes from the keeper's record (the host's {@link io.kuasar.spi.OrphanExits}). A
 * process that is gone without a recorded exit gets the keeper's record too, or 255 without one, as containerd's
 * shim does for lost exits.
 *
 * <p>After a host (re)start ({@link DriverContext#freshJvm()}), what a crash left half-made is settled first:
 * <ul>
 *   <li>a sandbox still CREATED (its Start did not finish): namespaces pinned by the unfinished Start are
 *       released; it stays CREATED, so a retried Start makes it READY and Shutdown removes it;</li>
 *   <li>a container without an init pid (its Create did not finish): whatever runc and the mounts hold of it is
 *       removed and it is forgotten, so a replayed Create makes it afresh;</li>
 *   <li>a container whose Start did not finish: runc's own state says whether it runs, and it is recorded so.</li>
 * </ul>
 */
final class Recovery {
    private static final Logger LOG = System.getLogger(Recovery.class.getName());

    private final DriverContext ctx;
    private final Path nsRoot;

    Recovery(DriverContext ctx, Path nsRoot) {
        this.ctx = ctx;
        this.nsRoot = nsRoot;
    }

    /** The sandbox as it was persisted, with its task service. */
    Sandbox restore(PersistedState.Sandbox p) {
        Sandbox sb = Sandbox.restore(p);
        sb.tasks = new RuncTasks(sb, ctx);
        return sb;
    }

    /**
     * The one step of recover() and adopt(): after a host (re)start, settles what a crash left half-made first, then
     * {@link #reattach}es. An adopting instance always succeeds another in this JVM, so it only re-attaches.
     */
    void resume(Sandbox sb) {
        if (ctx.freshJvm()) {
            settleHalfMade(sb);
        }
        reattach(sb);
    }

    /**
     * Watches the sandbox's recorded processes again and copies their terminals; a process that ended meanwhile
     * gets its exit recorded and announced. All an adopt needs: a handed-over sandbox has nothing half-made, since
     * no call on it was inside the predecessor at its release.
     */
    void reattach(Sandbox sb) {
        for (Container c : sb.containerList()) {
            reattach(sb, c, c.init);
            for (Proc e : c.execs.values()) {
                reattach(sb, c, e);
            }
        }
    }

    private void settleHalfMade(Sandbox sb) {
        if (sb.state == SandboxStatus.State.CREATED) {
            Path nsDir = nsRoot.resolve(sb.id);
            if (Files.exists(nsDir)) {
                try {
                    PodNamespaces.release(nsDir);
                    LOG.log(Level.INFO, "sandbox {0}: released the namespaces of a Start that did not finish", sb.id);
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "sandbox " + sb.id + ": cannot release " + nsDir, e);
                }
            }
        }
        boolean changed = false;
        for (Container c : sb.containerList()) {
            if (c.init.pid() <= 0 && c.init.exit() == null) {
                c.rootfsMounted = !c.rootfs.isEmpty(); // maybe mounted before the crash: unmount whatever is there
                sb.tasks.discardInterruptedCreate(c);
                LOG.log(Level.INFO, "sandbox {0}: removed container {1}, whose Create did not finish",
                        new Object[] {sb.id, c.id});
                continue;
            }
            if (c.init.pid() > 0 && c.init.exit() == null && c.init.status() == TaskState.Status.CREATED
                    && ctx.runc().exists(c.id)) {
                try {
                    if ("running".equals(ctx.runc().status(c.id))) {
                        c.init.running();
                        changed = true;
                        LOG.log(Level.INFO, "sandbox {0}: container {1} was started before the crash",
                                new Object[] {sb.id, c.id});
                    }
                } catch (SandboxException e) {
                    LOG.log(Level.WARNING, "cannot ask runc the state of " + c.id, e);
                }
            }
        }
        if (changed) {
            try {
                ctx.store().save(sb);
            } catch (SandboxException e) {
                LOG.log(Level.WARNING, "cannot persist sandbox " + sb.id, e);
            }
        }
    }

    private void reattach(Sandbox sb, Container c, Proc p) {
        if (p.exit() != null || p.pid() <= 0) {
            return;
        }
        ExitRecorder exits = sb.tasks.exits();
        if (ProcStat.same(p.pid(), p.startTime())) {
            try {
                exits.watch(c, p);
                if (p.stdio.terminal()) {
                    String what = p.execId.isEmpty() ? "container " + c.id : "exec " + p.execId + " of " + c.id;
                    p.console = Terminals.reattach(p.stdio, what,
                            Terminals.holderRecord(sb.tasks.workDir(c.id), p.execId));
                    if (p.console == null) {
                        LOG.log(Level.WARNING, "the terminal of {0} was lost: it runs on, hung up", what);
                    }
                }
                return;
            } catch (SandboxException e) {
                LOG.log(Level.WARNING, "cannot watch " + c.id + " again", e);
            }
        }
        exits.collectFromKeeper(c, p); // gone while no driver watched it
    }
}
