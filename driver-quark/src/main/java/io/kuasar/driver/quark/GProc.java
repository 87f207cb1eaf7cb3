package io.kuasar.driver.quark;

import io.kuasar.driver.kit.ProcessRecord;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskState;

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

    GProc(String execId, Stdio stdio) {
        super(execId, stdio);
    }

    synchronized boolean started() {
        return status() != TaskState.Status.CREATED;
    }

}
