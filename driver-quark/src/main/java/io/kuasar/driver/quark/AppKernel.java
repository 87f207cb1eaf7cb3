package io.kuasar.driver.quark;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TypedData;
import java.time.Duration;

/**
 * One application kernel (a user-space kernel that runs a pod's containers: gVisor's runsc, Quark). The driver
 * keeps the pod records, their persistence and the lifecycle rules; a backend only knows how to run its kernel.
 * Each method is called with the pod's lifecycle lock held.
 */
interface AppKernel extends AutoCloseable {
    /** The sandboxer name containerd uses for pods of this kernel. */
    String sandboxer();

    /**
     * Create: checks a new pod and fills in what follows from its config, before it is recorded or anything made;
     * what it refuses leaves no trace.
     */
    default void admit(Pod pod) throws SandboxException {
    }

    /** Starts the pod's sandbox; fills the pod's runtime fields (pid, task address) before returning them. */
    SandboxStarted start(Pod pod) throws SandboxException;

    /** Ends every process of the pod: SIGTERM, then SIGKILL after {@code grace}. The pod's files stay. */
    void stop(Pod pod, Duration grace) throws SandboxException;

    /** Removes what start made: processes (if any still run), mounts, files. */
    void shutdown(Pod pod) throws SandboxException;

    /** The Task API when the host serves it; backends whose kernel serves its own refuse. */
    TaskService tasks(Pod pod) throws SandboxException;

    /** Controller Metrics of the pod as its kernel accounts them; UNIMPLEMENTED where it has no such figures. */
    default TypedData metrics(Pod pod) throws SandboxException {
        throw SandboxException.unimplemented("metrics");
    }

    /** Controller Update's pod-wide {@code linux.resources}; FAILED_PRECONDITION where the kernel has nowhere to apply them. */
    default void updateResources(Pod pod, JsonNode resources) throws SandboxException {
        throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "update of sandbox " + pod.id
                + ": the " + sandboxer() + " sandboxer applies no pod-wide linux.resources");
    }

    /** Before {@link #reattach} of each recovered pod: what a recovery does once for all of them. */
    default void beforeRecovery() {
    }

    /**
     * After a driver restart, or when this instance adopts a pod its predecessor released, re-attaches to a pod
     * recorded READY; false when its sandbox is gone.
     */
    boolean reattach(Pod pod);

    /**
     * Makes (and drops) what {@link #reattach} would make for {@code pod}, touching nothing of it: a successor then
     * adopts its first pod with its classes loaded. Nothing by default.
     */
    default void warmUp(Pod pod) {
    }

    /**
     * Lets go of one pod for a successor instance ({@link io.kuasar.spi.SandboxHandover#release}): stops watching it
     * and closes what this instance holds for it, ending nothing of it. Nothing by default: a kernel that watches
     * nothing of its pods.
     */
    default void release(Pod pod) {
    }

    /** Stops watching; sandboxes keep running for the next driver instance. */
    @Override
    void close();
}
