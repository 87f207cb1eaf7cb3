package io.kuasar.driver.runc;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Re-attaches a (re)started driver to the sandboxes it persisted. A recorded process that still exists (same pid
 * and /proc start time) is watched again: still our child (the driver bundle was restarted in this JVM), its exit
 * status is collected exactly; otherwise (a new JVM) its end is noticed and reported as 255. A process that is gone
 * and has no recorded exit is reported exited with 255, as containerd's shim does for lost exits.
 */
final class Recovery {
    private static final Logger LOG = Logger.getLogger(Recovery.class.getName());

    private final DriverContext ctx;
    private final Map<String, Sandbox> sandboxes;

    Recovery(DriverContext ctx, Map<String, Sandbox> sandboxes) {
        this.ctx = ctx;
        this.sandboxes = sandboxes;
    }

    List<SandboxStatus> run() {
        List<SandboxStatus> out = new ArrayList<>();
        for (PersistedState.Sandbox p : ctx.store().loadAll()) {
            Sandbox known = sandboxes.get(p.id());
            if (known != null) {
                out.add(known.status(false)); // recover() again in the same instance: nothing to re-attach
                continue;
            }
            Sandbox sb;
            try {
                sb = Sandbox.restore(p);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "cannot restore sandbox " + p.id(), e);
                continue;
            }
            sb.tasks = new RuncTasks(sb, ctx);
            sandboxes.put(sb.id, sb);
            for (Container c : sb.containerList()) {
                reattach(sb, c, c.init);
                for (Proc e : c.execs.values()) {
                    reattach(sb, c, e);
                }
            }
            out.add(sb.status(false));
        }
        return out;
    }

    private void reattach(Sandbox sb, Container c, Proc p) {
        if (p.exit() != null || p.pid() <= 0) {
            return;
        }
        ExitRecorder exits = sb.tasks.exits();
        if (ProcInfo.same(p.pid(), p.startTime())) {
            try {
                exits.watch(c, p);
                return;
            } catch (SandboxException e) {
                LOG.log(Level.WARNING, "cannot watch " + c.id + " again", e);
            }
        }
        exits.exited(c, p, ExitStatus.UNKNOWN_CODE);
    }
}
