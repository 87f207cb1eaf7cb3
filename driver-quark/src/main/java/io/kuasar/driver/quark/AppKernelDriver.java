package io.kuasar.driver.quark;

import io.kuasar.driver.kit.PodTable;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskService;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The sandbox lifecycle shared by the app-kernel sandboxers: pod records, their persistence, and the rules of
 * containerd's Controller (start once, stop idempotent, shutdown removes everything). What runs a pod is the
 * {@link AppKernel} backend.
 */
abstract class AppKernelDriver implements SandboxDriver {
    private static final Logger LOG = System.getLogger(AppKernelDriver.class.getName());

    private final AppKernel kernel;
    private final PodStore store;
    private final Duration stopTimeout;
    private final PodTable<Pod> pods;

    AppKernelDriver(AppKernel kernel, PodStore store, Duration stopTimeout) {
        this.kernel = kernel;
        this.store = store;
        this.pods = new PodTable<>(store);
        this.stopTimeout = stopTimeout;
    }

    /** Stops watching; sandboxes keep running and the next instance's recover() re-attaches. */
    void close() {
        kernel.close();
    }

    @Override
    public SandboxStatus create(SandboxSpec spec) throws SandboxException {
        return pods.create(spec.id(), id -> Pod.of(spec, kernel.sandboxer(), Instant.now()));
    }

    @Override
    public SandboxStarted start(String sandboxId) throws SandboxException {
        return pods.start(sandboxId, pod -> {
            synchronized (pod) {
                if (pod.state == SandboxStatus.State.READY) {
                    return new SandboxStarted(pod.pid, pod.createdAt, pod.taskAddress, 3, Map.of());
                }
            }
            try {
                return kernel.start(pod);
            } catch (SandboxException | RuntimeException e) {
                pods.forgetFailed(pod, kernel::shutdown);
                throw e;
            }
        });
    }

    @Override
    public void stop(String sandboxId, Duration timeout) throws SandboxException {
        pods.stop(sandboxId, timeout, stopTimeout, kernel::stop);
    }

    @Override
    public CompletionStage<ExitStatus> exit(String sandboxId) throws SandboxException {
        return pods.exit(sandboxId);
    }

    @Override
    public SandboxStatus status(String sandboxId, boolean verbose) throws SandboxException {
        return pods.status(sandboxId, verbose);
    }

    @Override
    public void shutdown(String sandboxId) throws SandboxException {
        pods.shutdown(sandboxId, kernel::shutdown);
    }

    @Override
    public TaskService tasks(String sandboxId) throws SandboxException {
        return kernel.tasks(pods.get(sandboxId));
    }

    @Override
    public Collection<SandboxStatus> recover() {
        List<PersistedPod> ours = store.loadAll().stream()
                .filter(p -> kernel.sandboxer().equals(p.sandboxer())).toList();
        return pods.recover(ours, PersistedPod::id, Pod::restore, this::reattach);
    }

    /** A pod recorded READY whose sandbox is gone is recorded as stopped, with an unknown exit code. */
    private void reattach(Pod pod) throws SandboxException {
        if (!kernel.reattach(pod) && pod.state == SandboxStatus.State.READY) {
            LOG.log(Level.WARNING, "sandbox " + pod.id + " is gone; recorded as stopped");
            Instant now = Instant.now();
            pod.markStopped(now);
            pod.exit.complete(new ExitStatus(0, ExitStatus.UNKNOWN_CODE, now));
            store.save(pod);
        }
    }
}
