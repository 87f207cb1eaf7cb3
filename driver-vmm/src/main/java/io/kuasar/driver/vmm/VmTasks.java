package io.kuasar.driver.vmm;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.LinuxResources;
import io.kuasar.driver.kit.PodStore;
import io.kuasar.driver.kit.PodTasks;
import io.kuasar.driver.kit.TaskSpecs;
import io.kuasar.spi.ExecSpec;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Identifiers;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TaskEvents;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * containerd's Task API for the containers of one VM pod, served by the host: every call goes to the guest agent.
 * Pids are guest pids. Output travels from the agent's pipes to containerd's FIFOs through {@link OutputPumps};
 * exits come from the agent's Wait and are published once the output has been delivered.
 */
final class VmTasks extends PodTasks<VmPod, VmContainer> {
    /** How long a task call waits for a recovered pod's agent connection. */
    private static final long REATTACH_WAIT_SECONDS = 60;
    private static final Logger LOG = System.getLogger(VmTasks.class.getName());
    /** How long a Kill waits for a Start of the same exec in flight: an agent call may take that long. */
    private static final Duration START_WAIT = Duration.ofSeconds(70);

    private final TaskEvents events;
    private final OutputPumps pumps;
    private final InputPumps inputs;

    VmTasks(VmPod pod, PodStore<VmPod, PersistedVmPod> store, TaskEvents events, OutputPumps pumps,
            InputPumps inputs) {
        super(pod, store);
        this.events = events;
        this.pumps = pumps;
        this.inputs = inputs;
    }

    private AgentClient agent() throws SandboxException {
        CompletableFuture<Void> reattaching = pod.reattaching;
        if (pod.agent == null && reattaching != null) {
            try { // a recovered pod: its agent connection is on its way
                reattaching.get(REATTACH_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // answered below as unreachable
            }
        }
        AgentClient a = pod.agent;
        if (a == null || !a.isOpen()) {
            throw new SandboxException(SandboxException.Code.UNAVAILABLE, "the VM of sandbox " + pod.id
                    + " is not reachable");
        }
        return a;
    }

    private Path ctrShare(String id) {
        return pod.share().resolve(id);
    }

    @Override
    public long create(TaskSpec spec) throws SandboxException {
        // refuses logging plugins before anything changes; terminals and stdin are the agent's (GuestStdio)
        String id = Identifiers.validate("container", spec.id());
        TaskSpecs.refuseCheckpoint(spec, "a VM container");
        GuestStdio.of(spec.stdio());
        Path bundle = TaskSpecs.bundle(spec);
        VmContainer c = new VmContainer(id, bundle, spec.rootfs(), new VmProcess("", spec.stdio()));
        long replayed = pod.addOrReplay(c);
        if (replayed > 0) {
            return replayed; // a replayed Create answers what the first one made
        }
        c.ops.lock();
        try {
            Path share = Files.createDirectories(ctrShare(id).resolve("rootfs"));
            c.rootfsMounted = true; // first: a failure half-way still unmounts what was mounted
            if (spec.rootfs().isEmpty()) {
                HostFiles.bind(bundle.resolve("rootfs"), share, false);
            }
            for (io.kuasar.spi.Mount m : spec.rootfs()) {
                HostFiles.mount(m, share);
            }
            GuestBundle.prepare(bundle.resolve("config.json"), ctrShare(id), id);
            long pid = createInGuest(id, spec);
            c.init.created(pid);
            store.save(pod);
            events.publish(new TaskEvent.Created(pod.id, id, bundle.toString(), spec.rootfs(), spec.stdio(), "", pid));
            return pid;
        } catch (SandboxException | IOException | RuntimeException e) {
            // the share goes, or Shutdown removes the whole share again
            throw createFailed(c, e, () -> HostFiles.unmountAndDelete(ctrShare(c.id)));
        } finally {
            c.ops.unlock();
        }
    }

    /**
     * Creates the container in the guest. The guest may have it already while this driver has no record of it: the
     * JVM died inside an earlier Create of it, after the agent made it and before the record was written, and the
     * keeper now replays that Create. Never started (its Create was never answered), it is removed and made again.
     */
    private long createInGuest(String id, TaskSpec spec) throws SandboxException {
        GuestStdio stdio = GuestStdio.of(spec.stdio());
        try {
            return agent().create(id, GuestBundle.guestDir(id), stdio);
        } catch (SandboxException e) {
            if (e.code() != SandboxException.Code.ALREADY_EXISTS) {
                throw e;
            }
            LOG.log(Level.INFO, "vmm: container " + id + " of sandbox " + pod.id + " is in the guest"
                    + " but was never recorded (a Create cut off by a crash, replayed): making it again");
            agent().delete(id, "");
            return agent().create(id, GuestBundle.guestDir(id), stdio);
        }
    }

    @Override
    public long start(String id, String execId) throws SandboxException {
        VmContainer c = container(id);
        c.ops.lock();
        try {
            VmProcess p = c.proc(execId);
            if (p.status() == TaskState.Status.RUNNING || p.exit() != null) {
                if (p.pid() > 0) {
                    return p.pid(); // a replayed (or repeated) Start answers what the first one did
                }
                throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                        (p.execId.isEmpty() ? "container " + id : "exec " + p.execId) + " was already started");
            }
            long pid;
            if (p.execId.isEmpty()) {
                pid = agent().start(id, "");
                p.created(pid);
            } else {
                p.startBegins("exec " + p.execId + " of " + id);
                try {
                    c.requireRunning();
                    pid = agent().start(id, p.execId);
                    p.created(pid);
                } finally {
                    p.startEnds();
                }
            }
            p.running();
            if (p.execId.isEmpty()) {
                store.save(pod);
                events.publish(new TaskEvent.Started(pod.id, id, pid));
            } else {
                events.publish(new TaskEvent.ExecStarted(pod.id, id, p.execId, pid));
            }
            watch(c, p); // after Started went out, so Exited always follows it
            store.save(pod); // with its pid and the holder of its streams, for a restarted driver
            return pid;
        } finally {
            c.ops.unlock();
        }
    }

    /** Pumps the process's output to containerd's FIFOs and records its exit once the output is delivered. */
    void watch(VmContainer c, VmProcess p) {
        if (p.watched || pod.agent == null) {
            return;
        }
        p.watched = true;
        AgentClient a = pod.agent;
        CompletionStage<Void> delivered = pumps.start(a, c.id, p, outputOffsets(), pod::released);
        p.output = delivered;
        p.input = inputs.start(a, c.id, p);
        // output that never reaches EOF (a daemon kept the pipe) must not hold the exit back for long
        a.waitFor(c.id, p.execId).thenCompose(w -> delivered.toCompletableFuture().copy()
                        .completeOnTimeout(null, 2, TimeUnit.SECONDS).handle((v, t) -> w)).thenAccept(w ->
                exited(c, p, new ExitStatus(p.pid(), (int) w.getExitStatus(), Instant.now()), w.getOomKilled())
        ).exceptionally(t -> {
            p.watched = false; // connection lost: recovery after a reconnect watches again, or the VM is gone
            return null;
        });
    }

    /** Records, persists and publishes an exit, then completes the waiters (in that order, see ProcessRecord). */
    void exited(VmContainer c, VmProcess p, ExitStatus e) {
        exited(c, p, e, false);
    }

    /**
     * As above, with an OutOfMemory event first when the guest saw the OOM killer end it. Nothing happens once this
     * instance let go of the pod (a handover): its successor asks the agent for the exit and reports it.
     */
    private void exited(VmContainer c, VmProcess p, ExitStatus e, boolean oomKilled) {
        p.stopInput();
        if (pod.whileHeld(() -> record(c, p, e, oomKilled))) {
            p.completeWaiters();
        }
    }

    private boolean record(VmContainer c, VmProcess p, ExitStatus e, boolean oomKilled) {
        if (oomKilled && p.exit() == null) {
            events.publish(new TaskEvent.OutOfMemory(pod.id, c.id)); // before Exited: CRI's reason OOMKilled
        }
        if (!p.recordExit(e)) {
            return false;
        }
        try {
            store.save(pod);
        } catch (SandboxException ignored) {
            // the exit is still published; a restart would ask the agent again
        }
        events.publish(new TaskEvent.Exited(pod.id, c.id, p.execId, e));
        return true;
    }

    @Override
    public void exec(ExecSpec spec) throws SandboxException {
        VmContainer c = container(spec.id());
        String execId = Identifiers.validate("exec", spec.execId());
        GuestStdio stdio = GuestStdio.of(spec.stdio());
        c.ops.lock();
        try {
            c.requireRunning();
            if (c.execReplayed(execId, spec.stdio(), x -> x.pid() != 0)) {
                return; // the agent holds it since the first one
            }
            agent().exec(c.id, execId, spec.spec().value(), stdio);
            c.execs.put(execId, new VmProcess(execId, spec.stdio()));
            store.save(pod); // a restarted driver must still know it, for a replayed Exec or Start
            events.publish(new TaskEvent.ExecAdded(pod.id, c.id, execId));
        } finally {
            c.ops.unlock();
        }
    }

    @Override
    public ExitStatus delete(String id, String execId) throws SandboxException {
        VmContainer c = container(id);
        c.ops.lock();
        try {
            VmProcess p = c.proc(execId);
            if (p.exit() == null && p.status() == TaskState.Status.RUNNING) {
                throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                        (p.execId.isEmpty() ? "container " + id : "exec " + p.execId)
                                + " is still running: kill it first");
            }
            ExitStatus e = p.exit() != null ? p.exit() : new ExitStatus(p.pid(), 0, Instant.now());
            if (!p.execId.isEmpty()) {
                if (pod.agent != null) {
                    agent().delete(id, p.execId);
                }
                p.stopInput();
                c.execs.remove(p.execId);
                store.save(pod);
                OutputPumps.forget(outputOffsets(), id, p.execId);
                OutputPumps.endHolder(p.holderPid, OutputPumps.marker(id, p.execId));
            } else {
                destroy(c);
            }
            events.publish(new TaskEvent.Deleted(pod.id, id, p.execId, e));
            return e;
        } finally {
            c.ops.unlock();
        }
    }

    /** Where the output pumps of this pod record how far they delivered each stream. */
    private Path outputOffsets() {
        return pod.dir.resolve("output-offsets");
    }

    /** Removes a container whatever its state: the agent's runc delete (if the VM runs), mounts, files, record. */
    void destroy(VmContainer c) throws SandboxException {
        OutputPumps.forget(outputOffsets(), c.id, "");
        OutputPumps.endHolder(c.init.holderPid, OutputPumps.marker(c.id, ""));
        c.init.stopInput();
        for (VmProcess e : c.execs.values()) {
            OutputPumps.endHolder(e.holderPid, OutputPumps.marker(c.id, e.execId));
            e.stopInput();
        }
        AgentClient a = pod.agent;
        if (a != null && a.isOpen() && pod.state == SandboxStatus.State.READY) {
            try {
                a.delete(c.id, "");
            } catch (SandboxException e) {
                if (e.code() != SandboxException.Code.NOT_FOUND) {
                    throw e;
                }
            }
        }
        removeDeleted(c, () -> HostFiles.unmountAndDelete(ctrShare(c.id)));
    }

    @Override
    public List<ProcessInfo> pids(String id) throws SandboxException {
        container(id);
        List<ProcessInfo> out = new ArrayList<>();
        for (long pid : agent().pids(id).getPidsList()) {
            out.add(new ProcessInfo(pid, TypedData.EMPTY)); // guest pids, as Kata and Kuasar report them
        }
        return out;
    }

    @Override
    public TypedData stats(String id) throws SandboxException {
        runningContainer(id);
        return GuestStats.metrics(agent().stats(id));
    }

    @Override
    public void kill(String id, String execId, int signal, boolean all) throws SandboxException {
        VmContainer c = container(id);
        VmProcess p = c.proc(execId);
        if (p.exit() != null) {
            throw SandboxException.notFound("process", (p.execId.isEmpty() ? id : p.execId) + " (already finished)");
        }
        if (!p.execId.isEmpty()) {
            p.beforeSignal("exec " + p.execId + " of " + id, signal, START_WAIT);
        }
        agent().signal(id, p.execId, signal, all);
        if (p.execId.isEmpty() && c.paused) {
            // a frozen process takes no signal but SIGKILL: it ends once thawed (as runc does for a paused container)
            freeze(c, false);
        }
    }

    /** New cgroup limits of a running container, in the guest and in the VM's host cgroup ({@link VmUpdate}). */
    @Override
    public void update(String id, TypedData resources, Map<String, String> annotations) throws SandboxException {
        ObjectNode guest = GuestBundle.forGuest((ObjectNode) LinuxResources.parse(id, resources));
        VmContainer c = runningContainer(id);
        new VmUpdate(pod).apply(c, guest, agent());
    }

    @Override
    public void pause(String id) throws SandboxException {
        freeze(runningContainer(id), true);
    }

    @Override
    public void resume(String id) throws SandboxException {
        freeze(runningContainer(id), false);
    }

    private void freeze(VmContainer c, boolean paused) throws SandboxException {
        agent().pause(c.id, paused);
        c.paused = paused;
        events.publish(paused ? new TaskEvent.Paused(pod.id, c.id) : new TaskEvent.Resumed(pod.id, c.id));
    }

    /**
     * A process with a stdin FIFO: containerd closed its write end before asking, and the copier passes the
     * end-of-file on once the input before it is delivered (closing here could cut that input short).
     */
    @Override
    public void closeIO(String id, String execId, boolean stdin) throws SandboxException {
        VmProcess p = container(id).proc(execId);
        if (p.stdio.stdin().isEmpty()) {
            agent().closeStdin(id, p.execId);
        }
    }

    /** The window size of a terminal process's pty in the guest (the process sees SIGWINCH). */
    @Override
    public void resizePty(String id, String execId, int width, int height) throws SandboxException {
        VmProcess p = container(id).proc(execId);
        if (!p.stdio.terminal()) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "container " + id
                    + (p.execId.isEmpty() ? "" : " exec " + p.execId) + " has no terminal");
        }
        if (width < 0 || height < 0 || width > 0xffff || height > 0xffff) {
            throw SandboxException.invalid("terminal size " + width + "x" + height + " is out of range");
        }
        agent().resizePty(id, p.execId, width, height);
    }
}
