package io.kuasar.driver.quark;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Identifiers;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskService;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The sandbox lifecycle shared by the app-kernel sandboxers: pod records, their persistence, and the rules of
 * containerd's Controller (start once, stop idempotent, shutdown removes everything). What runs a pod is the
 * {@link AppKernel} backend.
 */
abstract class AppKernelDriver implements SandboxDriver {
    private static final Logger LOG = Logger.getLogger(AppKernelDriver.class.getName());

    private final AppKernel kernel;
    private final PodStore store;
    private final Duration stopTimeout;
    private final Map<String, Pod> pods = new ConcurrentHashMap<>();
    /** Ids shut down by this instance, so a repeated Shutdown succeeds as the SPI asks. */
    private final Set<String> shutDown = ConcurrentHashMap.newKeySet();

    AppKernelDriver(AppKernel kernel, PodStore store, Duration stopTimeout) {
        this.kernel = kernel;
        this.store = store;
        this.stopTimeout = stopTimeout;
    }

    /** Stops watching; sandboxes keep running and the next instance's recover() re-attaches. */
    void close() {
        kernel.close();
    }

    @Override
    public SandboxStatus create(SandboxSpec spec) throws SandboxException {
        String id = Identifiers.validate("sandbox", spec.id());
        Pod pod = Pod.of(spec, kernel.sandboxer(), Instant.now());
        if (pods.putIfAbsent(id, pod) != null || store.exists(id)) {
            pods.remove(id, pod);
            throw new SandboxException(SandboxException.Code.ALREADY_EXISTS, "sandbox " + id + " already exists");
        }
        try {
            store.save(pod);
        } catch (SandboxException e) {
            pods.remove(id, pod);
            throw e;
        }
        shutDown.remove(id);
        return pod.status(false);
    }

    @Override
    public SandboxStarted start(String sandboxId) throws SandboxException {
        Pod pod = pod(sandboxId);
        pod.lifecycle.lock();
        try {
            synchronized (pod) {
                if (pod.state == SandboxStatus.State.READY) {
                    return new SandboxStarted(pod.pid, pod.createdAt, pod.taskAddress, 3, Map.of());
                }
                if (pod.state == SandboxStatus.State.NOTREADY) {
                    throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                            "sandbox " + pod.id + " was stopped and cannot be started again");
                }
            }
            try {
                return kernel.start(pod);
            } catch (SandboxException | RuntimeException e) {
                forgetFailed(pod);
                throw e;
            }
        } finally {
            pod.lifecycle.unlock();
        }
    }

    /**
     * Removes a pod whose start failed, as Shutdown would: containerd 2.1's CRI gives up on such a sandbox without
     * calling Stop or Shutdown (seen end to end), so its record would otherwise stay forever. A later Shutdown of
     * the id still succeeds.
     */
    private void forgetFailed(Pod pod) {
        try {
            kernel.shutdown(pod);
            store.remove(pod.id);
            pods.remove(pod.id, pod);
            shutDown.add(pod.id);
            pod.exit.complete(new ExitStatus(0, ExitStatus.UNKNOWN_CODE, Instant.now()));
        } catch (SandboxException | RuntimeException e) {
            LOG.log(Level.WARNING, "cannot clean up sandbox " + pod.id + " after its failed start", e);
        }
    }

    @Override
    public void stop(String sandboxId, Duration timeout) throws SandboxException {
        Pod pod = pod(sandboxId);
        pod.lifecycle.lock();
        try {
            if (pod.exit.isDone()) {
                return;
            }
            Duration grace = timeout == null || timeout.isZero() || timeout.isNegative() ? stopTimeout : timeout;
            kernel.stop(pod, grace);
            Instant now = Instant.now();
            synchronized (pod) {
                pod.state = SandboxStatus.State.NOTREADY;
                pod.exitedAt = now;
            }
            store.save(pod);
            pod.exit.complete(new ExitStatus(0, 0, now));
        } finally {
            pod.lifecycle.unlock();
        }
    }

    @Override
    public CompletionStage<ExitStatus> exit(String sandboxId) throws SandboxException {
        return pod(sandboxId).exit.copy();
    }

    @Override
    public SandboxStatus status(String sandboxId, boolean verbose) throws SandboxException {
        return pod(sandboxId).status(verbose);
    }

    @Override
    public void shutdown(String sandboxId) throws SandboxException {
        Identifiers.validate("sandbox", sandboxId);
        Pod pod = pods.get(sandboxId);
        if (pod == null) {
            if (shutDown.contains(sandboxId)) {
                return;
            }
            throw SandboxException.notFound("sandbox", sandboxId);
        }
        pod.lifecycle.lock();
        try {
            kernel.shutdown(pod);
            store.remove(pod.id);
            pods.remove(pod.id, pod);
            shutDown.add(pod.id);
            pod.exit.complete(new ExitStatus(0, 0, Instant.now()));
        } finally {
            pod.lifecycle.unlock();
        }
    }

    @Override
    public TaskService tasks(String sandboxId) throws SandboxException {
        return kernel.tasks(pod(sandboxId));
    }

    @Override
    public Collection<SandboxStatus> recover() {
        List<SandboxStatus> out = new ArrayList<>();
        for (PersistedPod p : store.loadAll()) {
            if (!kernel.sandboxer().equals(p.sandboxer()) || pods.containsKey(p.id())) {
                continue;
            }
            try {
                Pod pod = Pod.restore(p);
                if (!kernel.reattach(pod) && pod.state == SandboxStatus.State.READY) {
                    LOG.warning("sandbox " + pod.id + " is gone; recorded as stopped");
                    Instant now = Instant.now();
                    synchronized (pod) {
                        pod.state = SandboxStatus.State.NOTREADY;
                        pod.exitedAt = now;
                    }
                    pod.exit.complete(new ExitStatus(0, ExitStatus.UNKNOWN_CODE, now));
                    store.save(pod);
                }
                pods.put(pod.id, pod);
                out.add(pod.status(false));
            } catch (SandboxException | RuntimeException e) {
                LOG.log(Level.WARNING, "cannot recover sandbox " + p.id(), e);
            }
        }
        return out;
    }

    private Pod pod(String id) throws SandboxException {
        Pod pod = pods.get(Identifiers.validate("sandbox", id));
        if (pod == null) {
            throw SandboxException.notFound("sandbox", id);
        }
        return pod;
    }
}
