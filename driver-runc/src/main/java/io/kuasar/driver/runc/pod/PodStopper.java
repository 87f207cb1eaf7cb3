package io.kuasar.driver.runc.pod;

import io.kuasar.driver.runc.task.Container;
import io.kuasar.driver.runc.task.Proc;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Ends every process of a pod: for Stop, politely (SIGTERM, then SIGKILL after the grace period); for Shutdown,
 * completely (runc delete --force, rootfs unmounted, work files removed). Waits happen without any lock the exit
 * watcher needs.
 */
public final class PodStopper {
    private static final Logger LOG = System.getLogger(PodStopper.class.getName());
    private static final int SIGTERM = 15;
    private static final int SIGKILL = 9;

    private final Sandbox sb;

    public PodStopper(Sandbox sb) {
        this.sb = sb;
    }

    public void stopAll(Duration grace) {
        List<Proc> live = live();
        thawPaused();
        signal(live, SIGTERM);
        if (!awaitAll(live, grace.toMillis())) {
            signal(live, SIGKILL);
            awaitAll(live, 10_000);
        }
    }

    /** runc delete --force of every container (which kills what still runs) and removal of what it made. */
    public void destroyAll() throws SandboxException {
        SandboxException first = null;
        for (Container c : sb.containerList()) {
            signal(new ArrayList<>(c.execs.values()), SIGKILL);
            c.ops.lock();
            try {
                sb.tasks.destroy(c);
            } catch (SandboxException e) {
                LOG.log(Level.WARNING, "cannot remove container " + c.id + " of " + sb.id, e);
                first = first == null ? e : first;
            } finally {
                c.ops.unlock();
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** Started processes that have not exited, execs first so the init is the last to go. */
    private List<Proc> live() {
        List<Proc> out = new ArrayList<>();
        for (Container c : sb.containerList()) {
            for (Proc p : c.execs.values()) {
                if (p.exit() == null && p.pid() > 0) {
                    out.add(p);
                }
            }
        }
        for (Container c : sb.containerList()) {
            if (c.init.exit() == null && c.init.pid() > 0) {
                out.add(c.init);
            }
        }
        return out;
    }

    /** A frozen process does not act on signals; resume paused containers so SIGTERM can be handled. */
    private void thawPaused() {
        for (Container c : sb.containerList()) {
            if (c.paused) {
                try {
                    sb.tasks.resume(c.id);
                } catch (SandboxException e) {
                    LOG.log(Level.DEBUG, "cannot resume " + c.id + " before stopping it", e);
                }
            }
        }
    }

    private static void signal(List<Proc> procs, int signal) {
        for (Proc p : procs) {
            try {
                p.signal("pid " + p.pid(), signal);
            } catch (SandboxException e) {
                // exited meanwhile: that is the goal
            }
        }
    }

    private static boolean awaitAll(List<Proc> procs, long millis) {
        List<CompletableFuture<ExitStatus>> waits = new ArrayList<>();
        for (Proc p : procs) {
            waits.add(p.waitFor());
        }
        try {
            CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new)).get(millis, TimeUnit.MILLISECONDS);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (Exception e) {
            return false;
        }
    }
}
