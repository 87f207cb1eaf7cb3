package io.kuasar.driver.quark;

import io.kuasar.driver.kit.ProcStat;
import io.kuasar.driver.kit.ProcessRecord;
import io.kuasar.driver.kit.tty.Console;
import io.kuasar.spi.Stdio;

/**
 * One process of a container in a gVisor sandbox: its init (execId empty) or an exec. Its host-side stand-in is a
 * runsc helper (runsc wait for an init, runsc exec for an exec) whose end tells the exit code. The monitor guards
 * pid, status and exit.
 */
final class GProc extends ProcessRecord {
    /** The runsc helper standing for the process (runsc wait or runsc exec), null when none runs. */
    volatile Process helper;
    /** Pid inside the sandbox, for runsc kill --pid (exec processes only); 0 when unknown. */
    volatile long sandboxPid;
    /** Start time (/proc stat field 22) of an exec's runsc exec helper, whose pid is the exec's; 0 when unknown. */
    volatile long helperStart;
    /** The pty master this JVM holds for a terminal process, null without one (or when it was lost). */
    volatile Console console;

    GProc(String execId, Stdio stdio) {
        super(execId, stdio);
    }

    /**
     * True while the helper runs: this instance's child, or (after a restart) the process recorded for it, which
     * may be a child of an earlier driver instance of this JVM or, after a JVM crash, the keeper's.
     */
    boolean helperAlive() {
        Process own = helper;
        if (own != null) {
            return own.isAlive();
        }
        long pid = pid();
        return pid > 0 && helperStart > 0 && ProcStat.same(pid, helperStart) && !ProcStat.of(pid).zombie();
    }

}
