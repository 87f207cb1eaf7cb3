package io.kuasar.driver.runc.task;

import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.PodTasks;
import io.kuasar.driver.kit.ProcStat;
import io.kuasar.driver.kit.StdioRedirects;
import io.kuasar.driver.kit.TaskSpecs;
import io.kuasar.driver.runc.DriverContext;
import io.kuasar.driver.runc.pod.Sandbox;
import io.kuasar.driver.kit.tty.Console;
import io.kuasar.driver.kit.tty.ConsoleSocket;
import io.kuasar.driver.runc.process.ExitWatcher;
import io.kuasar.driver.runc.process.Mounts;
import io.kuasar.driver.kit.tty.Terminals;
import io.kuasar.spi.ExecSpec;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Identifiers;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * containerd's Task API for the containers of one sandbox, driving runc directly. The container processes are
 * children of this JVM (a subreaper); their exits arrive through the {@link ExitWatcher} and
 * {@link ExitRecorder}. Stdio goes from containerd's FIFOs straight to the processes.
 */
public final class RuncTasks extends PodTasks<Sandbox, Container> {
    private static final Logger LOG = System.getLogger(RuncTasks.class.getName());
    /** Names this driver in refusals of stdio it cannot serve. */
    private static final String RUNC_DRIVER = "the runc driver";

    private final DriverContext ctx;
    private final ExitRecorder exits;
    private final RuncResources resources;
    private final Terminals terminals;
    private final RuncExecs execs;
    private final HeldStdio heldStdio = new HeldStdio();
    /** Handed over to a successor instance: this one answers NOT_FOUND and touches nothing of the pod. */
    private volatile boolean released;

    public RuncTasks(Sandbox sb, DriverContext ctx) {
        super(sb, ctx.store());
        this.ctx = ctx;
        this.exits = new ExitRecorder(pod, ctx);
        this.resources = new RuncResources(ctx.runc());
        this.terminals = new Terminals(ctx.workRoot().resolveSibling("tty"));
        this.execs = new RuncExecs(this, pod, ctx, terminals);
    }

    public ExitRecorder exits() {
        return exits;
    }

    /**
     * Handover: lets go of the pod for the successor instance, ending nothing of it: the terminal copies stop (their
     * pty holders keep the terminals), its processes are no longer watched (nor reaped), and every call answers
     * NOT_FOUND from now on. Output FIFOs held for a replayed Create stay held until {@link HeldStdio#HOLD} passes.
     */
    public void release() {
        released = true;
        stopConsoles();
        exits.release();
    }

    /** Stops copying the pod's terminals (the processes and their pty holders go on). */
    public void stopConsoles() {
        for (Container c : pod.containerList()) {
            stopConsole(c.init);
            c.execs.values().forEach(RuncTasks::stopConsole);
        }
    }

    private static void stopConsole(Proc p) {
        Console console = p.console;
        if (console != null) {
            console.stop();
        }
    }

    public Path workDir(String containerId) {
        return ctx.workRoot().resolve(pod.id).resolve(containerId);
    }

    @Override
    public long create(TaskSpec spec) throws SandboxException {
        requireHeld();
        String id = Identifiers.validate("container", spec.id());
        TaskSpecs.refuseCheckpoint(spec, "a container");
        StdioRedirects stdio = Terminals.redirects(spec.stdio(), RUNC_DRIVER);
        Path bundle = TaskSpecs.bundle(spec);
        Container c = new Container(id, bundle, spec.rootfs(), new Proc("", spec.stdio()));
        long replayed = pod.addOrReplay(c);
        if (replayed > 0) {
            return replayed; // a replay of a Create that was done (the keeper resends unanswered requests)
        }
        c.ops.lock();
        try {
            // Recorded before anything is made, so recovery after a crash in the middle finds and removes it.
            exits.persist();
            Path work = HostFiles.privateDir(workDir(id));
            if (!spec.rootfs().isEmpty()) {
                Files.createDirectories(c.rootfsDir());
                c.rootfsMounted = true; // set first: a failure half-way still unmounts what was mounted
                for (io.kuasar.spi.Mount m : spec.rootfs()) {
                    Mounts.mount(m, c.rootfsDir());
                }
            }
            // The pid the sandbox's Start returned: this JVM's, or a previous host JVM's for a recovered sandbox.
            ctx.rewriter().rewrite(bundle.resolve("config.json"), sandboxPid(), pod.namespaceTargets());
            Path pidFile = work.resolve("init.pid");
            c.init.hold();
            ConsoleSocket console = terminals.open(spec.stdio());
            try {
                ctx.runc().create(id, bundle, pidFile, stdio, console);
            } catch (SandboxException e) {
                Terminals.discard(console);
                throw e;
            }
            c.init.console = Terminals.attach(console, spec.stdio(), "container " + id,
                    Terminals.holderRecord(work, ""));
            long pid = readPid(pidFile);
            c.init.created(pid, ProcStat.startTime(pid));
            exits.persist();
            exits.watch(c, c.init);
            ctx.events().publish(new TaskEvent.Created(pod.id, id, bundle.toString(), spec.rootfs(), spec.stdio(),
                    spec.checkpoint(), pid));
            if (c.init.release()) {
                exits.announce(c, c.init);
            }
            return pid;
        } catch (SandboxException | IOException | RuntimeException e) {
            throw createFailed(c, e, () -> removeCreated(c));
        } finally {
            c.ops.unlock();
            heldStdio.release(id); // the new container holds them now, or nobody will
        }
    }

    /** Removes a container whose Create a crash cut off (found by recovery), its output held (see HeldStdio). */
    public void discardInterruptedCreate(Container c) {
        heldStdio.hold(c.id, c.init.stdio);
        discard(c, () -> removeCreated(c));
    }

    private long sandboxPid() {
        synchronized (pod) {
            return pod.pid > 0 ? pod.pid : ctx.servedPid();
        }
    }

    /** Removes what a Create that failed (or did not finish before a crash) made of {@code c}. */
    private void removeCreated(Container c) throws IOException {
        try {
            if (ctx.runc().exists(c.id)) {
                ctx.runc().delete(c.id);
            }
        } catch (SandboxException e) {
            LOG.log(Level.DEBUG, "runc delete of the failed container " + c.id, e); // its files go all the same
        }
        removeLeftovers(c);
    }

    /** Unmounts the rootfs and removes the work files of {@code c}. */
    void removeLeftovers(Container c) throws IOException {
        Terminals.releaseHolders(workDir(c.id));
        c.removeFiles(workDir(c.id), Mounts::unmountAll);
    }

    @Override
    public long start(String id, String execId) throws SandboxException {
        return withOps(id, c -> execId == null || execId.isEmpty() ? startInit(c) : execs.start(c, c.exec(execId)));
    }

    /** Starts the container's init: runc start, its exit announced only after Started. Caller holds {@code c.ops}. */
    private long startInit(Container c) throws SandboxException {
        if (c.init.started() || c.init.exit() != null) {
            if (c.init.pid() > 0) {
                return c.init.pid(); // started already: a replayed (or repeated) Start answers the same
            }
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "container " + c.id + " was already started");
        }
        c.init.hold();
        try {
            ctx.runc().start(c.id);
            c.init.running();
            exits.persist();
            ctx.events().publish(new TaskEvent.Started(pod.id, c.id, c.init.pid()));
        } finally {
            if (c.init.release()) {
                exits.announce(c, c.init);
            }
        }
        return c.init.pid();
    }

    @Override
    public void exec(ExecSpec spec) throws SandboxException {
        execs.add(spec);
    }

    @Override
    public ExitStatus delete(String id, String execId) throws SandboxException {
        Container c = container(id);
        c.ops.lock();
        try {
            if (execId != null && !execId.isEmpty()) {
                ExitStatus e = c.removeExec(execId, workDir(id), Proc::started);
                exits.persist();
                ctx.events().publish(new TaskEvent.Deleted(pod.id, id, execId, e));
                return e;
            }
            c.requireEnded();
            ExitStatus e = destroy(c);
            ctx.events().publish(new TaskEvent.Deleted(pod.id, id, "", e));
            return e;
        } catch (IOException e) {
            throw SandboxException.internal("cannot delete files of " + id, e);
        } finally {
            c.ops.unlock();
        }
    }

    /**
     * Removes a container whatever its state: runc delete --force (which kills it), wait for the exit to be
     * collected, unmount the rootfs, remove work files and the record. Caller holds {@code c.ops}.
     */
    public ExitStatus destroy(Container c) throws SandboxException {
        if (ctx.runc().exists(c.id)) {
            ctx.runc().delete(c.id);
        }
        ExitStatus e = c.init.exit();
        if (e == null && c.init.pid() > 0) {
            try {
                e = c.init.waitFor().get(10, TimeUnit.SECONDS);
            } catch (Exception timeout) {
                e = null;
            }
        }
        if (e == null) {
            e = new ExitStatus(c.init.pid(), ExitStatus.UNKNOWN_CODE, Instant.now());
        }
        removeDeleted(c, () -> removeLeftovers(c));
        return e;
    }

    @Override
    public List<ProcessInfo> pids(String id) throws SandboxException {
        Container c = container(id);
        Map<Long, String> execPids = new HashMap<>();
        for (Proc p : c.execs.values()) {
            execPids.put(p.pid(), p.execId);
        }
        List<ProcessInfo> out = new ArrayList<>();
        List<Long> running;
        try {
            running = ctx.runc().ps(id);
        } catch (SandboxException e) {
            if (c.init.exit() == null) {
                throw e;
            }
            running = List.of(); // runc has nothing to list for a stopped container
        }
        for (long pid : running) {
            String execId = execPids.get(pid);
            out.add(new ProcessInfo(pid, execId == null ? TypedData.EMPTY : RuncExecs.processDetails(execId)));
        }
        if (out.isEmpty() && c.init.exit() != null && c.init.pid() > 0) {
            // An exited container not yet deleted still has its init. containerd, loading its tasks after a
            // restart, cleans up as "leaked" a task with no pids and so loses its exit status (CRI then reports
            // 255, as it does for the stock runc shim); with the init listed, CRI asks State and Delete instead.
            out.add(new ProcessInfo(c.init.pid(), TypedData.EMPTY));
        }
        return out;
    }

    @Override
    public void pause(String id) throws SandboxException {
        Container c = container(id);
        c.ops.lock();
        try {
            ctx.runc().pause(id);
            c.paused = true;
            exits.persist();
            ctx.events().publish(new TaskEvent.Paused(pod.id, id));
        } finally {
            c.ops.unlock();
        }
    }

    @Override
    public void resume(String id) throws SandboxException {
        Container c = container(id);
        c.ops.lock();
        try {
            ctx.runc().resume(id);
            c.paused = false;
            exits.persist();
            ctx.events().publish(new TaskEvent.Resumed(pod.id, id));
        } finally {
            c.ops.unlock();
        }
    }

    @Override
    public TypedData stats(String id) throws SandboxException {
        return resources.stats(container(id));
    }

    @Override
    public void update(String id, TypedData res, Map<String, String> annotations) throws SandboxException {
        Container c = container(id);
        c.ops.lock();
        try {
            resources.update(c, res, HostFiles.privateDir(workDir(id)));
        } catch (IOException e) {
            throw SandboxException.internal("cannot make the work dir of " + id, e);
        } finally {
            c.ops.unlock();
        }
    }

    @Override
    public void resizePty(String id, String execId, int width, int height) throws SandboxException {
        Terminals.resize(container(id).proc(execId).console, id, execId, width, height);
    }

    @Override
    public void kill(String id, String execId, int signal, boolean all) throws SandboxException {
        Container c = container(id);
        if (execId != null && !execId.isEmpty()) {
            c.exec(execId).signal("exec " + execId + " of " + id, signal);
        } else if (all) {
            ctx.runc().killAll(id, signal);
        } else {
            c.init.signal("container " + id, signal);
        }
    }

    @Override
    protected Container container(String id) throws SandboxException {
        requireHeld();
        return super.container(id); // also for RuncExecs
    }

    /** NOT_FOUND once the pod was handed over, for a caller that kept this service past the handover. */
    private void requireHeld() throws SandboxException {
        if (released) {
            throw SandboxException.notFound("sandbox", pod.id);
        }
    }

    static long readPid(Path pidFile) throws SandboxException {
        try {
            return Long.parseLong(Files.readString(pidFile).trim());
        } catch (IOException | NumberFormatException e) {
            throw SandboxException.internal("runc left no usable pid file " + pidFile, e);
        }
    }
}
