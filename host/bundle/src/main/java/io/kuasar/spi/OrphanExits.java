package io.kuasar.spi;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Exit statuses of processes that outlived the JVM that started them, an OSGi service of the host.
 *
 * <p>A driver's helper or container process is a child of the node's JVM. When that JVM dies ({@code kill -9}, a
 * crash), the process is re-parented to the node's keeper, which reaps it and records its exit; the next JVM's
 * driver asks here for what it can no longer wait(2) for. A process is named by its pid and its start time (field
 * 22 of {@code /proc/PID/stat}, clock ticks since boot; 0 when unknown: then the newest record for the pid
 * answers), so a recycled pid is never taken for the process a driver lost.
 *
 * <p>Without a keeper nothing is recorded: such an exit cannot be known, and {@link #exitOf} answers
 * {@link ExitStatus#UNKNOWN_CODE}, as containerd's shim reports a lost exit.
 */
@ProviderType
public interface OrphanExits {
    /** True when a keeper records the exits of orphaned processes on this node. */
    boolean recording();

    /** The recorded exit of a process that is gone, if the keeper has written it yet; never waits. */
    Optional<ExitStatus> recorded(long pid, long startTime);

    /**
     * The exit of a process that is gone, once the keeper's record appears (it writes it just after reaping), waiting
     * up to {@code wait} for it; {@link ExitStatus#UNKNOWN_CODE} when no record comes. Never blocks the caller.
     *
     * @param what names the process in the warning logged when its exit stays unknown
     */
    CompletionStage<ExitStatus> exitOf(long pid, long startTime, Duration wait, String what);

    /** Forgets a process's record, once the driver has persisted its exit in its own state. */
    void consumed(long pid, long startTime);
}
