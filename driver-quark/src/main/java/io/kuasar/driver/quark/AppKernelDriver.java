package io.kuasar.driver.quark;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.driver.kit.PodDriver;
import io.kuasar.driver.kit.PodStore;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxHandover;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TypedData;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * The sandbox lifecycle shared by the app-kernel sandboxers: the kit's {@link PodDriver} keeps the pod records, their
 * persistence and containerd's rules; what runs a pod is the {@link AppKernel} backend.
 */
abstract class AppKernelDriver extends PodDriver<Pod, PersistedPod> implements SandboxHandover {
    private static final Logger LOG = System.getLogger(AppKernelDriver.class.getName());

    private final AppKernel kernel;

    AppKernelDriver(AppKernel kernel, PodStore<Pod, PersistedPod> store, Duration stopTimeout) {
        super(store, stopTimeout);
        this.kernel = kernel;
        warmUp().ifPresent(kernel::warmUp); // a successor's first adopt then finds its classes loaded
    }

    /** Stops watching; sandboxes keep running and the next instance's recover() or adopt() re-attaches. */
    void close() {
        kernel.close();
    }

    @Override
    protected Pod newPod(String id, SandboxSpec spec) throws SandboxException {
        Pod pod = Pod.of(spec, kernel.sandboxer(), Instant.now());
        kernel.admit(pod);
        return pod;
    }

    @Override
    protected SandboxStarted started(Pod pod) {
        return new SandboxStarted(pod.pid, pod.createdAt, pod.taskAddress, 3, Map.of());
    }

    @Override
    protected SandboxStarted startPod(Pod pod) throws SandboxException {
        return kernel.start(pod);
    }

    @Override
    protected void stopPod(Pod pod, Duration grace) throws SandboxException {
        kernel.stop(pod, grace);
    }

    @Override
    protected void removePod(Pod pod) throws SandboxException {
        kernel.shutdown(pod);
    }

    @Override
    protected TaskService tasksOf(Pod pod) throws SandboxException {
        return kernel.tasks(pod);
    }

    @Override
    protected TypedData metricsOf(Pod pod) throws SandboxException {
        return kernel.metrics(pod);
    }

    @Override
    protected void updateResources(Pod pod, JsonNode resources) throws SandboxException {
        kernel.updateResources(pod, resources);
    }

    @Override
    protected void beforeRecovery() {
        kernel.beforeRecovery();
    }

    /** The pod leaves this instance's table, then its kernel lets go of it: its sandbox runs on for the successor. */
    @Override
    public void release(String sandboxId) throws SandboxException {
        kernel.release(releasePod(sandboxId));
    }

    /** Records of this sandboxer only: one written by another is not this one to recover or adopt. */
    @Override
    protected boolean ours(PersistedPod p) {
        return kernel.sandboxer().equals(p.sandboxer());
    }

    /**
     * The step of recover() and adopt(); what recover() does once for all pods (a crashed JVM's leftovers) an adopt
     * does not need: the predecessor ran in this JVM and left nothing unrecorded. A pod recorded READY whose sandbox is
     * gone is recorded as stopped, with an unknown exit code.
     */
    @Override
    protected void resume(Pod pod) throws SandboxException {
        if (!kernel.reattach(pod) && pod.state == SandboxStatus.State.READY) {
            LOG.log(Level.WARNING, "sandbox " + pod.id + " is gone; recorded as stopped");
            Instant now = Instant.now();
            pod.markStopped(now);
            pod.exit.complete(new ExitStatus(0, ExitStatus.UNKNOWN_CODE, now));
            store.save(pod);
        }
    }
}
