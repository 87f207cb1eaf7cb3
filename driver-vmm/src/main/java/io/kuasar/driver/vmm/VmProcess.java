package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.ProcessRecord;
import io.kuasar.spi.Stdio;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** A container's init or exec as the host sees it; its pid is the guest's (the host has no process for it). */
final class VmProcess extends ProcessRecord {
    /** Set once the output pumps and the exit watch run for it, so recovery or a repeated Start adds none. */
    volatile boolean watched;
    /** The process holding containerd's FIFOs open across a JVM restart (see OutputPumps), 0 if none. */
    volatile long holderPid;
    /** The copier of containerd's stdin FIFO to the agent while this instance runs one (see InputPumps). */
    volatile AutoCloseable input = () -> { };
    /** The end of this instance's output pumps for it (EOF delivered, or their connection closed). */
    volatile CompletionStage<Void> output = CompletableFuture.completedFuture(null);

    VmProcess(String execId, Stdio stdio) {
        super(execId, stdio);
    }

    /** Ends the copying of its input (it has exited, or is deleted). */
    void stopInput() {
        try {
            input.close();
        } catch (Exception ignored) {
            // closing a FIFO's read end does not fail in a way that matters
        }
    }
}
