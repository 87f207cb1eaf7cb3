package io.kuasar.driver.quark;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.driver.kit.PodFiles;
import io.kuasar.driver.kit.PodStore;
import io.kuasar.driver.kit.PodTasks;
import io.kuasar.driver.kit.SandboxCgroup;
import io.kuasar.driver.kit.FifoHold;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.LinuxResources;
import io.kuasar.driver.kit.TaskSpecs;
import io.kuasar.driver.kit.tty.Console;
import io.kuasar.driver.kit.tty.ConsoleSocket;
import io.kuasar.driver.kit.tty.Terminals;
import io.kuasar.spi.Identifiers;
import io.kuasar.spi.ExecSpec;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.OrphanExits;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskEvents;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * containerd's Task API for the containers of one gVisor sandbox, served by the host and carried out with runsc.
 * Exit codes come from one helper process per running container ({@code runsc wait}) and per exec (the foreground
 * {@code runsc exec} itself): each costs a small Go process on the host while its container or exec runs. Execs are
 * persisted with the pod from Exec to Delete, so a call the keeper replays after a JVM crash finds them.
 */
final class RunscTasks extends PodTasks<Pod, RunscContainer> {
    private static final Logger LOG = System.getLogger(RunscTasks.class.getName());
    /** Names this sandboxer in refusals of stdio it cannot serve (logging plugins). */
    static final String RUNSC_SANDBOXER = "the runsc sandboxer";

    /** The exit code recorded for an init whose runsc start failed (a shell's "cannot execute"). */
    private static final int START_FAILED = 127;

    private final Runsc runsc;
    private final TaskEvents events;
    private final Reaper reaper;
    private final Path workRoot;
    private final RunscExits exits;
    private final RunscExecs execs;
    private final Terminals terminals;

    RunscTasks(Pod pod, Runsc runsc, PodStore<Pod, PersistedPod> store, TaskEvents events, OrphanExits orphans,
               Reaper reaper, Path workRoot, Terminals terminals) {
        super(pod, store);
        this.exits = new RunscExits(pod, runsc, store, events, orphans);
        this.execs = new RunscExecs(pod, runsc, store, events, exits, workRoot);
        this.terminals = terminals;
        this.runsc = runsc;
        this.events = events;
        this.reaper = reaper;
        this.workRoot = workRoot;
    }

    Runsc runsc() {
        return runsc;
    }

    RunscExits exits() {
        return exits;
    }

    /** The container's work files: pid files, exec specs, exec exits. */
    Path workDir(String containerId) {
        return workRoot.resolve(containerId);
    }

    @Override
    public long create(TaskSpec spec) throws SandboxException {
        // unsupported stdio is refused now rather than at start
        String id = Identifiers.validate("container", spec.id());
        TaskSpecs.refuseCheckpoint(spec, "a gVisor container");
        Terminals.redirects(spec.stdio(), RUNSC_SANDBOXER);
        Path bundle = TaskSpecs.bundle(spec);
        RunscContainer c = new RunscContainer(id, bundle, spec.rootfs(), new GProc("", spec.stdio()));
        long replayed = pod.addOrReplay(c);
        if (replayed > 0) {
            return replayed; // a replayed Create answers what the first one made
        }
        c.ops.lock();
        boolean created = false;
        try {
            Path work = HostFiles.privateDir(workDir(id));
            if (!spec.rootfs().isEmpty()) {
                Files.createDirectories(c.rootfsDir());
                c.rootfsMounted = true; // first: a failure half-way still unmounts what was mounted
                for (io.kuasar.spi.Mount m : spec.rootfs()) {
                    HostFiles.mount(m, c.rootfsDir());
                }
            }
            GvisorSpec.prepareContainer(bundle.resolve("config.json"), pod.id, pod.netnsPath, podFiles());
            Path pidFile = work.resolve("init.pid");
            // runsc knows it, but no record was written: the JVM died inside an earlier Create of it, which the keeper
            // now replays. Never started (that Create was never answered): taken as it is when runsc finished making
            // it, else removed and made again (its output FIFOs held meanwhile: the removal closes containerd's last
            // writers, and containerd would stop reading them for good)
            boolean known = runsc.knows(id, pod.id);
            if (known && "created".equals(runsc.status(id)) && Files.isRegularFile(pidFile)) {
                LOG.log(Level.INFO, "container " + id + " of sandbox " + pod.id + " was made by a Create cut off by a"
                        + " crash, replayed: taken as runsc made it");
            } else {
                try (FifoHold hold = known ? FifoHold.of(spec.stdio()) : null) {
                    if (known) {
                        LOG.log(Level.INFO, "container " + id + " of sandbox " + pod.id + " is half-made by a Create"
                                + " cut off by a crash, replayed: making it again");
                        runsc.delete(id);
                    }
                    // runsc create sends a terminal's master, of a sub-container too (runsc 2024)
                    ConsoleSocket console = terminals.open(spec.stdio());
                    try {
                        runsc.create(id, bundle, pidFile, console);
                    } catch (SandboxException e) {
                        Terminals.discard(console);
                        throw e;
                    }
                    c.init.console = Terminals.attach(console, spec.stdio(), "container " + id,
                            Terminals.holderRecord(work, ""));
                }
            }
            created = true;
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            c.init.created(pid);
            adoptHostProcesses();
            store.save(pod);
            events.publish(new TaskEvent.Created(pod.id, id, bundle.toString(), spec.rootfs(), spec.stdio(),
                    spec.checkpoint(), pid));
            return pid;
        } catch (SandboxException | IOException | RuntimeException e) {
            boolean made = created;
            throw createFailed(c, e, () -> {
                if (made) {
                    runsc.delete(c.id);
                }
                removeLeftovers(c);
            });
        } finally {
            c.ops.unlock();
        }
    }

    /** Container path to the pod's own file or directory there (see RunscKernel.start). */
    private Map<String, String> podFiles() {
        Path files = workRoot.resolveSibling(RunscKernel.FILES);
        Map<String, String> paths = PodFiles.paths(files);
        if (Files.isDirectory(files.resolve(GvisorSpec.SHM))) {
            paths.put("/dev/shm", files.resolve(GvisorSpec.SHM).toString());
        }
        return paths;
    }

    /** Tracks the gofer runsc just left behind (and anything else of this pod) for reaping and for recovery. */
    private void adoptHostProcesses() {
        List<Long> found = reaper.adopt(runsc.marker());
        synchronized (pod) {
            pod.sessions.addAll(found);
        }
    }

    private void adoptGofer(RunscContainer c) {
        List<Long> found = reaper.adoptLeader(runsc.goferPid(c.id, pod.id));
        synchronized (pod) {
            pod.sessions.addAll(found);
        }
    }

    private void removeLeftovers(RunscContainer c) throws IOException {
        Terminals.releaseHolders(workDir(c.id));
        c.removeFiles(workDir(c.id), HostFiles::unmountAll);
    }

    @Override
    public long start(String id, String execId) throws SandboxException {
        return withOps(id, c -> execId == null || execId.isEmpty() ? startInit(c) : execs.start(c, c.exec(execId)));
    }

    /** Starts the container's init: runsc start. Caller holds {@code c.ops}. */
    private long startInit(RunscContainer c) throws SandboxException {
        String id = c.id;
        if (c.init.started() || c.init.exit() != null) {
            if (c.init.started() && c.init.pid() > 0) {
                return c.init.pid(); // a replayed (or repeated) Start answers what the first one did
            }
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "container " + id
                    + " was already started");
        }
        if (c.restored && !List.of("", "created").contains(runsc.status(id))) {
            // started by a Start whose JVM died before recording it, which the keeper now replays: not started
            // twice (the container may even have ended, and containerd stopped reading its output)
            LOG.log(Level.INFO, "container " + id + " of sandbox " + pod.id + " was started before a crash");
        } else {
            if (c.restored) {
                // after a crash, containerd may have stopped reading the output FIFOs (an earlier writer, a Start
                // the crash cut off, closed them): held read-write until the container ends, so starting it
                // cannot block for ever opening them (its output is then lost, not its exit code)
                c.outputHold = FifoHold.of(c.init.stdio);
            }
            try {
                runsc.start(id, Terminals.redirects(c.init.stdio, RUNSC_SANDBOXER));
            } catch (SandboxException e) {
                // the process never ran (its command is missing, say): an exit, as a runc init's failed exec is,
                // so containerd may delete the container
                exits.exited(c, c.init, START_FAILED);
                throw e;
            }
        }
        adoptGofer(c); // started by runsc start (runsc 2024), may be gone already
        c.init.running();
        store.save(pod);
        events.publish(new TaskEvent.Started(pod.id, id, c.init.pid()));
        exits.watchInit(c); // after Started went out, so Exited always follows it
        return c.init.pid();
    }

    @Override
    public void exec(ExecSpec spec) throws SandboxException {
        execs.add(container(spec.id()), spec);
    }

    @Override
    public ExitStatus delete(String id, String execId) throws SandboxException {
        RunscContainer c = container(id);
        c.ops.lock();
        try {
            if (execId != null && !execId.isEmpty()) {
                ExitStatus e = c.removeExec(execId, workDir(id), GProc::started);
                Files.deleteIfExists(RunscExits.execExitFile(workDir(id), execId));
                execs.saveQuietly("the removal of exec " + execId + " of " + id);
                events.publish(new TaskEvent.Deleted(pod.id, id, execId, e));
                return e;
            }
            c.requireEnded();
            ExitStatus e = destroy(c);
            events.publish(new TaskEvent.Deleted(pod.id, id, "", e));
            return e;
        } catch (IOException e) {
            throw SandboxException.internal("cannot delete the files of " + id, e);
        } finally {
            c.ops.unlock();
        }
    }

    /** Removes a container whatever its state: runsc delete --force, unmount, files, record. Caller holds ops. */
    ExitStatus destroy(RunscContainer c) throws SandboxException {
        if (!c.deleted) {
            try {
                runsc.delete(c.id);
            } catch (SandboxException e) {
                if (e.code() != SandboxException.Code.NOT_FOUND && pod.state == SandboxStatus.State.READY) {
                    throw e;
                } // else the sandbox (and with it the container) is already gone
            }
            c.deleted = true;
            // a runsc delete that failed half-way (gVisor's "stopping container: context deadline exceeded" under
            // load) leaves the container's host cgroups, and the retry finds nothing of it to delete
            List<String> left = SandboxCgroup.remove(GvisorSpec.cgroupsPath(c.bundle.resolve("config.json")));
            if (!left.isEmpty()) {
                LOG.log(Level.WARNING, "cgroups of container " + c.id + " left: " + left);
            }
        }
        Process w = c.init.helper;
        if (w != null) {
            w.destroy();
        }
        ExitStatus e = c.init.exit() != null ? c.init.exit()
                : new ExitStatus(c.init.pid(), ExitStatus.UNKNOWN_CODE, Instant.now());
        removeDeleted(c, () -> removeLeftovers(c));
        reaper.sweep();
        return e;
    }

    @Override
    public List<ProcessInfo> pids(String id) throws SandboxException {
        container(id);
        List<ProcessInfo> out = new ArrayList<>();
        for (long pid : runsc.ps(id)) {
            out.add(new ProcessInfo(pid, TypedData.EMPTY)); // pids inside the sandbox, as gVisor's shim reports
        }
        return out;
    }

    /**
     * CPU and memory as containerd's CRI reads them (cgroups v1 Metrics), from gVisor's own accounting through
     * {@code runsc events --stats}. A container whose init has exited has no figures: NOT_FOUND, which containerd's
     * metrics listing skips.
     */
    @Override
    public TypedData stats(String id) throws SandboxException {
        runningContainer(id);
        return RunscStats.fromEvents(runsc.stats(id));
    }

    @Override
    public void pause(String id) throws SandboxException {
        RunscContainer c = container(id);
        runsc.pause(id);
        c.paused = true;
        events.publish(new TaskEvent.Paused(pod.id, id));
    }

    @Override
    public void resume(String id) throws SandboxException {
        RunscContainer c = container(id);
        runsc.resume(id);
        c.paused = false;
        events.publish(new TaskEvent.Resumed(pod.id, id));
    }

    /**
     * Sets the window size on the pty master this JVM holds. gVisor reads the size of a terminal from the host's pty
     * (TIOCGWINSZ inside the sandbox is answered from the host file), so {@code stty size} inside sees it.
     */
    @Override
    public void resizePty(String id, String execId, int width, int height) throws SandboxException {
        Terminals.resize(container(id).proc(execId).console, id, execId, width, height);
    }

    /**
     * Sizes the sandbox's host cgroup to the pod's containers' limits ({@link RunscUpdate}): gVisor runs them all in
     * one sandbox process, and runsc has no {@code update} command.
     */
    @Override
    public void update(String id, TypedData resources, Map<String, String> annotations) throws SandboxException {
        RunscContainer c = container(id);
        JsonNode parsed = LinuxResources.parse(id, resources);
        c.ops.lock();
        try {
            c.requireRunning();
            new RunscUpdate(pod).apply(c, parsed);
        } finally {
            c.ops.unlock();
        }
    }

    /** Copies a terminal again whose process runs on after a restart of the driver or of the node. */
    void reattachTerminal(RunscContainer c, GProc p) {
        if (p.stdio.terminal() && p.console == null && p.exit() == null) {
            String what = p.execId.isEmpty() ? "container " + c.id : "exec " + p.execId + " of " + c.id;
            p.console = Terminals.reattach(p.stdio, what, Terminals.holderRecord(workDir(c.id), p.execId));
            if (p.console == null) {
                LOG.log(Level.WARNING, "the terminal of {0} was lost: it runs on, hung up", what);
            }
        }
    }

    @Override
    public void kill(String id, String execId, int signal, boolean all) throws SandboxException {
        RunscContainer c = container(id);
        GProc p = c.proc(execId);
        if (p.execId.isEmpty()) {
            if (p.exit() != null) {
                throw SandboxException.notFound("process", id + " (already finished)");
            }
            runsc.kill(id, signal, all);
            return;
        }
        execs.signal(c, p, signal);
    }

    /** Lets go of the pod's helpers and terminals (their holders keep them open); its sandbox keeps running. */
    void close() {
        exits.close();
        for (RunscContainer c : pod.containerList()) {
            stopConsole(c.init);
            c.execs.values().forEach(RunscTasks::stopConsole);
        }
    }

    /** {@link #close}, for a successor to take the pod on: this instance's reaper also forgets its processes. */
    void release() {
        close();
        synchronized (pod) {
            reaper.release(runsc.marker(), pod.sessions);
        }
    }

    private static void stopConsole(GProc p) {
        Console console = p.console;
        if (console != null) {
            console.stop();
        }
    }
}
