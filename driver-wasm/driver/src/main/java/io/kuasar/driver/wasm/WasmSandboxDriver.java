package io.kuasar.driver.wasm;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.PodDriver;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxHandover;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskEvents;
import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The sandbox lifecycle the wasm sandboxers share. A wasm pod has no process and no namespaces of its own: Start
 * only marks it ready (the node serves its Task API; the pid it reports is the node's), Stop ends its containers,
 * Shutdown removes them. State under {@code stateDir(sandboxer)}, mounts and work files under
 * {@code runDir(sandboxer)}. At an upgrade each pod is handed over on its own ({@link SandboxHandover}): its modules
 * and WasmEdge processes run on, only who watches them changes.
 */
abstract class WasmSandboxDriver extends PodDriver<WasmPod, PersistedPod> implements SandboxHandover {
    private static final Logger LOG = System.getLogger(WasmSandboxDriver.class.getName());
    private static final long KILL_WAIT_SECONDS = 10;

    private final WasmBackend backend;
    private final TaskEvents events;
    private final Path workRoot;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Map<String, WasmTasks> tasks = new ConcurrentHashMap<>();

    WasmSandboxDriver(WasmBackend backend, TaskEvents events, HostPaths paths, Duration stopTimeout) throws IOException {
        super(WasmPod.store(paths.stateDir(backend.sandboxer())), stopTimeout);
        this.backend = backend;
        this.events = events;
        this.workRoot = HostFiles.privateDir(paths.runDir(backend.sandboxer()).resolve("containers"));
        warmUp(); // a successor's first adopt then finds the pod classes loaded
    }

    /** Deactivation: stop reacting; running modules and processes stay for the next instance. */
    void close() {
        closed.set(true);
        tasks.values().forEach(WasmTasks::stopConsoles);
        backend.close();
    }

    @Override
    protected WasmTasks tasksOf(WasmPod pod) {
        return tasks.computeIfAbsent(pod.id, k -> new WasmTasks(pod, backend, store, events, workRoot, closed::get));
    }

    @Override
    protected TypedData metricsOf(WasmPod pod) throws SandboxException {
        return tasksOf(pod).podStats();
    }

    @Override
    protected void updateResources(WasmPod pod, JsonNode resources)
            throws SandboxException {
        backend.capPod(pod, resources);
    }

    @Override
    protected WasmPod newPod(String id, SandboxSpec spec) {
        return WasmPod.of(spec, backend.sandboxer(), Instant.now());
    }

    /** Marks the pod ready: there is nothing to run until its containers start. */
    @Override
    protected SandboxStarted startPod(WasmPod pod) throws SandboxException {
        synchronized (pod) {
            pod.state = SandboxStatus.State.READY;
            pod.pid = ProcessHandle.current().pid();
        }
        store.save(pod);
        return started(pod);
    }

    /** SIGTERM to every running container, SIGKILL to those still running after {@code grace}. */
    @Override
    protected void stopPod(WasmPod pod, Duration grace) {
        WasmTasks t = tasksOf(pod);
        List<WasmContainer> running = new ArrayList<>();
        for (WasmContainer c : pod.containerList()) {
            if (c.init.exit() == null) {
                running.add(c);
                signal(t, c, 15);
            }
        }
        long deadline = System.nanoTime() + grace.toNanos();
        for (WasmContainer c : running) {
            if (!await(c, Math.max(0, deadline - System.nanoTime()))) {
                signal(t, c, 9);
                if (!await(c, TimeUnit.SECONDS.toNanos(KILL_WAIT_SECONDS))) {
                    LOG.log(Level.WARNING, "container " + c.id + " of sandbox " + pod.id
                            + " did not end after SIGKILL");
                }
            }
        }
    }

    private static void signal(WasmTasks t, WasmContainer c, int signal) {
        try {
            t.kill(c.id, "", signal, true);
        } catch (SandboxException e) {
            LOG.log(Level.DEBUG, "kill " + signal + " of " + c.id, e); // it ended meanwhile
        }
    }

    private static boolean await(WasmContainer c, long nanos) {
        try {
            c.init.waitFor().get(nanos, TimeUnit.NANOSECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        } catch (java.util.concurrent.ExecutionException e) {
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Ends and removes the pod's containers and its work files. */
    @Override
    protected void removePod(WasmPod pod) throws SandboxException {
        stopPod(pod, Duration.ZERO);
        WasmTasks t = tasksOf(pod);
        for (WasmContainer c : pod.containerList()) {
            c.ops.lock();
            try {
                t.destroy(c);
            } finally {
                c.ops.unlock();
            }
        }
        try {
            HostFiles.deleteTree(workRoot.resolve(pod.id));
        } catch (IOException e) {
            throw SandboxException.internal("cannot remove the files of sandbox " + pod.id, e);
        }
        tasks.remove(pod.id);
    }

    /**
     * Handover, leaving: this instance stops watching the pod's containers (an exit from now on is the successor's
     * to report) and stops copying their terminals, whose holders keep them; the modules and processes run on.
     */
    @Override
    public void release(String sandboxId) throws SandboxException {
        WasmPod pod = releasePod(sandboxId);
        WasmTasks t = tasks.remove(pod.id);
        if (t != null) {
            t.release();
        }
        // nothing to save: each change of the pod was saved as it was made, and a save (two fsyncs) is most of the
        // time one pod's calls wait; an exit whose save failed is found again by the successor's re-attachment
    }

    /** Whether a persisted pod is this sandboxer's: its record names it. */
    @Override
    protected boolean ours(PersistedPod p) {
        return backend.sandboxer().equals(p.sandboxer());
    }

    /**
     * Recovery and adoption (a handover's successor) of one pod: drops what a Create cut short left, and watches again
     * the modules and processes still running.
     */
    @Override
    protected void resume(WasmPod pod) throws SandboxException {
        WasmTasks t = tasksOf(pod);
        boolean dropped = false;
        for (WasmContainer c : pod.containerList()) {
            dropped |= recover(pod, t, c);
        }
        if (dropped) {
            store.save(pod); // only then: the rest is on disk as it is, and a save holds up the pod's calls
        }
    }

    /** Re-attaches one container; true when it was dropped instead, half-created. */
    private boolean recover(WasmPod pod, WasmTasks t, WasmContainer c) {
        if (c.plan == null) {
            // The node died inside Create: remove what it made, so a replayed Create starts afresh.
            try {
                t.removeLeftovers(c);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "cannot clean up half-created container " + c.id, e);
            }
            pod.removeContainer(c.id);
            return true;
        }
        if (c.init.exit() == null && c.init.started()) {
            // reattach does not block; an exit it finds at once (one while no instance watched) is published now,
            // and after a restart the host's event hub holds it until recover() has told the sandbox's namespace.
            t.watch(c, backend.reattach(pod, c));
        }
        return false;
    }
}
