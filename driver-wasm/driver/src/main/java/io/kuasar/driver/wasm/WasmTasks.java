package io.kuasar.driver.wasm;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.LinuxResources;
import io.kuasar.driver.kit.PodStore;
import io.kuasar.driver.kit.PodTasks;
import io.kuasar.driver.kit.TaskSpecs;
import io.kuasar.driver.kit.tty.Console;
import io.kuasar.driver.kit.tty.Terminals;
import io.kuasar.spi.ExecSpec;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskEvents;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import io.kuasar.spi.TypedData;
import io.kuasar.wasm.engine.fs.ContainerRoot;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;

/**
 * containerd's Task API for the wasm containers of one pod, served by the node. A wasm container has exactly one
 * process, its module: Exec is refused, Kill ends the module, Wait/State/Delete follow containerd's rules.
 */
final class WasmTasks extends PodTasks<WasmPod, WasmContainer> {
    private static final Logger LOG = System.getLogger(WasmTasks.class.getName());

    private final WasmBackend backend;
    private final TaskEvents events;
    private final Path workRoot;
    /** Until deactivation or a handover: then a newer instance reports the pod's exits. */
    private final PodWatch watching;

    WasmTasks(WasmPod pod, WasmBackend backend, PodStore<WasmPod, PersistedPod> store, TaskEvents events, Path workRoot,
              BooleanSupplier closed) {
        super(pod, store);
        this.backend = backend;
        this.events = events;
        this.workRoot = workRoot;
        this.watching = new PodWatch(closed);
    }

    /** After a handover the pod is not this instance's: NOT_FOUND, as for any sandbox it does not hold. */
    @Override
    protected WasmContainer container(String id) throws SandboxException {
        if (watching.released()) {
            throw SandboxException.notFound("sandbox", pod.id);
        }
        return super.container(id);
    }

    private String refusedBy() {
        return "the " + backend.sandboxer() + " sandboxer";
    }

    Path workDir(String containerId) {
        return workRoot.resolve(pod.id).resolve(containerId);
    }

    @Override
    public long create(TaskSpec spec) throws SandboxException {
        // terminals and logging plugins: refused before anything is made
        TaskSpecs.Checked checked = TaskSpecs.check(spec, "a wasm container", refusedBy());
        String id = checked.id();
        Path bundle = checked.bundle();
        if (spec.stdio().terminal() && backend.noTerminal() != null) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "container " + id + " asks for a"
                    + " terminal (tty), which " + refusedBy() + " cannot give: " + backend.noTerminal());
        }
        WasmContainer c = new WasmContainer(id, bundle, spec.rootfs(), new WasmProc(spec.stdio()));
        synchronized (pod) {
            WasmContainer existing = pod.containers.get(id);
            if (existing != null && existing.bundle.equals(bundle) && existing.plan != null) {
                return existing.init.pid(); // a replayed Create (keeper) answers what the first one made
            }
            pod.addContainer(c); // READY and not there yet
        }
        c.ops.lock();
        try {
            store.save(pod); // recorded without a plan first: a crash inside Create is cleaned up on recovery
            OciBundle.Parsed parsed = OciBundle.read(bundle);
            Files.createDirectories(c.rootfsDir());
            c.rootfsMounted = true; // first: a failure half-way still unmounts what was mounted
            for (io.kuasar.spi.Mount m : spec.rootfs()) {
                HostFiles.mount(m, c.rootfsDir());
            }
            c.plan = mountVolumes(c, parsed);
            backend.prepare(pod, c);
            long pid = ProcessHandle.current().pid(); // the node runs (or spawns) the module; a real pid comes at start
            c.init.created(pid);
            store.save(pod);
            events.publish(new TaskEvent.Created(pod.id, id, bundle.toString(), spec.rootfs(), spec.stdio(),
                    spec.checkpoint(), pid));
            return pid;
        } catch (SandboxException | IOException | RuntimeException e) {
            throw createFailed(c, e, () -> removeLeftovers(c));
        } finally {
            c.ops.unlock();
        }
    }

    /**
     * Mounts the spec's volumes into the rootfs at their destinations, resolved inside the container's root as runc
     * does (an image's links never lead a mount onto the host), makes the root read-only when the spec says so
     * (after the mounts: they need their mount points), and finds the module in the image. Either engine then sees
     * one tree, the container's, with the kernel enforcing read-only mounts.
     */
    private LaunchPlan mountVolumes(WasmContainer c, OciBundle.Parsed parsed) throws SandboxException {
        Map<String, String> mounted = new LinkedHashMap<>();
        try (ContainerRoot root = ContainerRoot.open(c.rootfsDir())) {
            for (OciBundle.Volume v : parsed.volumes()) {
                try {
                    mounted.put(v.destination(), root.bindMount(v.source(), v.destination(), v.directory(),
                            v.readonly()));
                } catch (IOException e) {
                    throw SandboxException.invalid("mount " + v.destination() + " of container " + c.id + ": "
                            + e.getMessage());
                }
            }
            if (parsed.rootReadonly()) {
                root.remountReadOnly();
            }
            Path module = OciBundle.module(root, parsed.arg0(), parsed.cwd(), mounted.values());
            return OciBundle.plan(parsed, module, c.rootfsDir(), mounted);
        } catch (IOException e) {
            throw SandboxException.internal("cannot prepare the root of container " + c.id, e);
        }
    }

    /** Unmounts the read-only views and the rootfs, removes the work files. */
    void removeLeftovers(WasmContainer c) throws IOException {
        Path work = workDir(c.id);
        if (Files.exists(work)) {
            HostFiles.unmountAll(work);
        }
        c.removeFiles(work, HostFiles::unmountAll);
    }

    @Override
    public long start(String id, String execId) throws SandboxException {
        WasmContainer c = container(id);
        if (execId != null && !execId.isEmpty()) {
            throw SandboxException.notFound("exec", execId + " of container " + id);
        }
        c.ops.lock();
        try {
            if (c.init.started()) {
                // a replayed (or repeated) Start answers what the first one did, whether the module ended since
                // or not: an in-node module ends with the JVM whose crash made the keeper replay the call
                return c.init.pid();
            }
            WasmBackend.Started s = backend.start(pod, c);
            c.init.created(s.pid());
            c.init.running();
            store.save(pod);
            events.publish(new TaskEvent.Started(pod.id, id, s.pid()));
            watch(c, s.ending()); // after Started went out, so Exited always follows it
            return s.pid();
        } finally {
            c.ops.unlock();
        }
    }

    void watch(WasmContainer c, CompletionStage<WasmBackend.Ending> ending) {
        watching.add(ending).whenComplete((e, failure) -> {
            if (!watching.watching()) {
                return; // replaced (maybe by an update of this bundle, whose classes can no longer load): not ours
            }
            if (failure != null) {
                LOG.log(Level.WARNING, "lost track of container " + c.id + " of sandbox " + pod.id, failure);
                e = new WasmBackend.Ending(ExitStatus.UNKNOWN_CODE, Instant.now(), "lost: " + failure, false);
            }
            ended(c, e);
        });
    }

    /** Records, persists and publishes an exit once, then completes the waiters (in that order). */
    void ended(WasmContainer c, WasmBackend.Ending e) {
        synchronized (watching) { // a handover waits for a report under way
            if (!watching.watching()) {
                return; // this driver instance was replaced: the new one re-attaches and reports this exit
            }
            int code = e.code();
            if (c.killSignal != 0 && !e.oomKilled() && code > 128) {
                code = 128 + c.killSignal;
            }
            if (!c.init.recordExit(new ExitStatus(c.init.pid(), code, e.at()))) {
                return;
            }
            c.reason = e.reason();
            try {
                store.save(pod);
            } catch (SandboxException se) {
                LOG.log(Level.WARNING, "cannot persist the exit of " + c.id, se);
            }
            if (e.oomKilled()) {
                events.publish(new TaskEvent.OutOfMemory(pod.id, c.id));
            }
            events.publish(new TaskEvent.Exited(pod.id, c.id, "", c.init.exit()));
            c.init.completeWaiters();
            if (!e.reason().isEmpty() && !"Completed".equals(e.reason()) && !"Error".equals(e.reason())) {
                LOG.log(Level.INFO, "wasm container " + c.id + " of sandbox " + pod.id + " ended with " + code + ": "
                        + e.reason());
            }
        }
    }

    /**
     * Handover: this instance reports no exit of the pod from now on, nor answers for it, and stops copying its
     * terminals. The modules and processes run on; what this instance recorded is persisted already.
     */
    void release() {
        watching.release();
        stopConsoles();
    }

    /** Deactivation: this instance stops copying terminals; their holders keep them open for the next one. */
    void stopConsoles() {
        for (WasmContainer c : pod.containerList()) {
            Console console = c.init.console;
            if (console != null) {
                console.stop();
            }
        }
    }

    /** Sets the window size of a WasmEdge container's terminal (a WASI module cannot ask for it; its process can). */
    @Override
    public void resizePty(String id, String execId, int width, int height) throws SandboxException {
        WasmContainer c = container(id);
        if (execId != null && !execId.isEmpty()) {
            throw SandboxException.notFound("exec", execId + " of container " + id);
        }
        Terminals.resize(c.init.console, id, "", width, height);
    }

    @Override
    public void exec(ExecSpec spec) throws SandboxException {
        container(spec.id());
        throw new SandboxException(SandboxException.Code.UNIMPLEMENTED, "exec into wasm container " + spec.id()
                + " is not supported: a WASI module is a single program with no shell or second process to run");
    }

    @Override
    public ExitStatus delete(String id, String execId) throws SandboxException {
        WasmContainer c = container(id);
        if (execId != null && !execId.isEmpty()) {
            throw SandboxException.notFound("exec", execId + " of container " + id);
        }
        c.ops.lock();
        try {
            c.requireEnded();
            ExitStatus e = destroy(c);
            events.publish(new TaskEvent.Deleted(pod.id, id, "", e));
            return e;
        } finally {
            c.ops.unlock();
        }
    }

    /** Removes an ended or never started container: engine record, mounts, files, record. Caller holds ops. */
    ExitStatus destroy(WasmContainer c) throws SandboxException {
        backend.release(pod, c);
        ExitStatus e = c.init.exit() != null ? c.init.exit() : new ExitStatus(c.init.pid(), 0, Instant.now());
        removeDeleted(c, () -> removeLeftovers(c));
        return e;
    }

    @Override
    public List<ProcessInfo> pids(String id) throws SandboxException {
        WasmContainer c = container(id);
        return c.init.status() == TaskState.Status.RUNNING ? List.of(new ProcessInfo(c.init.pid(), TypedData.EMPTY))
                : List.of();
    }

    @Override
    public TypedData stats(String id) throws SandboxException {
        WasmContainer c = container(id);
        if (!c.init.started() || c.init.exit() != null) {
            throw SandboxException.notFound("running container", id + " in sandbox " + pod.id);
        }
        WasmBackend.Usage u = backend.usage(pod, c);
        return ContainerMetrics.of(u.cpuNanos(), u.memoryBytes(), u.peakBytes(), c.plan.memoryLimit());
    }

    /**
     * Controller Metrics of the pod: its running containers' engine accounting summed (WasmEdge: each one's cgroup;
     * Chicory and Wasmtime: the module's CPU time and linear memory), in the message a container's Stats uses. The
     * limit is the sum of theirs, or none when one has none.
     */
    TypedData podStats() throws SandboxException {
        long cpu = 0, memory = 0, peak = 0, limit = 0;
        boolean unlimited = false;
        for (WasmContainer c : pod.containerList()) {
            if (!c.init.started() || c.init.exit() != null) {
                continue;
            }
            WasmBackend.Usage u = backend.usage(pod, c);
            cpu += u.cpuNanos();
            memory += u.memoryBytes();
            peak += Math.max(u.peakBytes(), u.memoryBytes());
            unlimited |= c.plan.memoryLimit() <= 0;
            limit += Math.max(0, c.plan.memoryLimit());
        }
        return ContainerMetrics.of(cpu, memory, peak, unlimited ? 0 : limit);
    }

    /**
     * CRI's UpdateContainerResources: the memory limit of the OCI LinuxResources containerd sends (JSON), where the
     * engine can change it (WasmEdge: its cgroup). The other fields have nothing to act on here (no cpu cgroup, and
     * a module is one thread), so they are left as they are.
     */
    @Override
    public void update(String id, TypedData resources, Map<String, String> annotations) throws SandboxException {
        JsonNode memory = LinuxResources.parse(id, resources).path("memory").path("limit");
        WasmContainer c = runningContainer(id);
        if (!memory.isMissingNode() && !memory.isNull()) {
            backend.limitMemory(pod, c, memory.asLong());
        }
    }

    @Override
    public void pause(String id) throws SandboxException {
        freeze(id, true);
    }

    @Override
    public void resume(String id) throws SandboxException {
        freeze(id, false);
    }

    private void freeze(String id, boolean paused) throws SandboxException {
        WasmContainer c = runningContainer(id);
        backend.pause(pod, c, paused);
        c.paused = paused;
        events.publish(paused ? new TaskEvent.Paused(pod.id, id) : new TaskEvent.Resumed(pod.id, id));
    }

    @Override
    public void kill(String id, String execId, int signal, boolean all) throws SandboxException {
        WasmContainer c = container(id);
        if (execId != null && !execId.isEmpty()) {
            throw SandboxException.notFound("exec", execId + " of container " + id);
        }
        if (c.init.exit() != null) {
            throw SandboxException.notFound("process", id + " (already finished)");
        }
        if (signal <= 0) {
            return;
        }
        if (c.killSignal == 0) {
            c.killSignal = signal;
        }
        if (!c.init.started()) {
            // Never started: nothing runs, the container just ends as the signal would have ended it.
            ended(c, new WasmBackend.Ending(128 + signal, Instant.now(), "Killed before start", false));
            return;
        }
        backend.kill(pod, c, signal);
        if (c.paused) {
            // a frozen process takes no signal: it ends once thawed (as runc does for a paused container)
            backend.pause(pod, c, false);
            c.paused = false;
        }
    }

    @Override
    public CompletionStage<ExitStatus> waitFor(String id, String execId) throws SandboxException {
        return proc(id, execId).waitFor();
    }

    @Override
    public TaskState state(String id, String execId) throws SandboxException {
        WasmContainer c = container(id);
        proc(id, execId);
        return c.state("");
    }

    private WasmProc proc(String id, String execId) throws SandboxException {
        WasmContainer c = container(id);
        if (execId != null && !execId.isEmpty()) {
            throw SandboxException.notFound("exec", execId + " of container " + id);
        }
        return c.init;
    }

}
