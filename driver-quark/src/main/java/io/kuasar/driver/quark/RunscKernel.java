package io.kuasar.driver.quark;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.driver.kit.DaemonThreads;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.PodCgroup;
import io.kuasar.driver.kit.PodFiles;
import io.kuasar.driver.kit.PodStore;
import io.kuasar.driver.kit.PodSysctls;
import io.kuasar.driver.kit.ProcStat;
import io.kuasar.driver.kit.SandboxCgroup;
import io.kuasar.driver.kit.StdioRedirects;
import io.kuasar.driver.kit.tty.Terminals;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.OrphanExits;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskEvents;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * gVisor backend: one runsc sandbox per pod, its Task API served by the host ({@link RunscTasks}). Per pod, under
 * {@code runRoot/pods/ID}: {@code root/} (runsc's --root, private to the pod so its processes are recognisable),
 * {@code bundle/config.json} (the sandbox container), {@code work/} (pid files, exec specs).
 */
final class RunscKernel implements AppKernel {
    private static final Logger LOG = System.getLogger(RunscKernel.class.getName());
    /** How long the sandbox's host processes get to end after runsc delete (it waits for them itself, normally). */
    private static final Duration DELETE_GRACE = Duration.ofSeconds(3);

    private final RunscSettings settings;
    private final Path runRoot;
    /** Console sockets of every pod, in one short directory: a socket path has at most 107 bytes. */
    private final Terminals terminals;
    private final PodStore<Pod, PersistedPod> store;
    private final TaskEvents events;
    private final Reaper reaper;
    private final OrphanExits orphans;
    private final CompletableFuture<String> platform;
    private final Map<String, RunscTasks> tasks = new ConcurrentHashMap<>();
    /**
     * Starts recovered containers' runsc waits after recover() (each a fork and a Go start, ~30 ms under load, which
     * calls would wait for); a late wait still gets the exit: the sandbox keeps a status until it is deleted.
     */
    private final ExecutorService rewatch = Executors.newSingleThreadExecutor(
            DaemonThreads.named("kuasar-runsc-rewatch"));

    RunscKernel(RunscSettings settings, Path runRoot, PodStore<Pod, PersistedPod> store, TaskEvents events,
                OrphanExits orphans, Reaper reaper, CompletableFuture<String> platform) {
        this.orphans = orphans;
        this.settings = settings;
        this.runRoot = runRoot;
        this.terminals = new Terminals(runRoot.resolve("tty"));
        this.store = store;
        this.events = events;
        this.reaper = reaper;
        this.platform = platform;
    }

    @Override
    public String sandboxer() {
        return "runsc";
    }

    /** The pod's own hostname, hosts and resolv.conf ({@link PodFiles}), under its pod dir. */
    static final String FILES = "files";

    Path podDir(String podId) {
        return runRoot.resolve("pods").resolve(podId);
    }

    /** What gVisor cannot do, and a cgroup parent the sandbox cannot live under, are refused at Create: no record. */
    @Override
    public void admit(Pod pod) throws SandboxException {
        GvisorLimits.checkPod(pod.id, pod.config, pod.netnsPath);
        pod.cgroup = SandboxCgroup.path("runsc", pod.config == null ? "" : pod.config.cgroupParent(), pod.id);
    }

    @Override
    public SandboxStarted start(Pod pod) throws SandboxException {
        if (!pod.netnsPath.isEmpty() && !Files.exists(Path.of(pod.netnsPath))) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "network namespace " + pod.netnsPath + " of sandbox " + pod.id + " does not exist");
        }
        if (pod.cgroup == null || pod.cgroup.isEmpty()) {
            admit(pod); // created by a driver version that checked the pod and named its cgroup only here
        }
        Map<String, String> sysctls = pod.config == null ? Map.of() : pod.config.sysctls(); // admitted at Create
        String chosen = platform();
        Path dir = podDir(pod.id);
        RunscTasks started = newTasks(pod, chosen);
        Runsc runsc = started.runsc();
        boolean created = false;
        try {
            HostFiles.privateDir(dir.resolve("root"));
            Path bundle = HostFiles.privateDir(dir.resolve("bundle"));
            HostFiles.privateDir(dir.resolve("work"));
            Path files = HostFiles.privateDir(dir.resolve(FILES));
            PodFiles.write(files, pod.hostname, pod.config);
            Files.createDirectories(files.resolve(GvisorSpec.SHM));
            // gVisor's network stack is the host's (--network=host) in the pod's netns: its sysctls are set there
            PodSysctls.apply(sysctls, null, pod.netnsPath, null);
            List<String> argv = new ArrayList<>(settings.pauseArgs());
            argv.set(0, "/" + argv.get(0));
            Files.write(bundle.resolve("config.json"), GvisorSpec.bytes(GvisorSpec.sandboxSpec(pod.id,
                    Files.readString(files.resolve(PodFiles.HOSTNAME)).strip(), pauseRootfs(), argv,
                    files.resolve(GvisorSpec.SHM), pod.cgroup)));
            runsc.create(pod.id, bundle, dir.resolve("sandbox.pid"));
            created = true;
            long pid = Long.parseLong(Files.readString(dir.resolve("sandbox.pid")).trim());
            runsc.start(pod.id, StdioRedirects.NONE);
            List<Long> helpers = reaper.adopt(runsc.marker());
            synchronized (pod) {
                pod.pid = pid;
                pod.platform = chosen;
                pod.sessions.addAll(helpers);
                pod.state = SandboxStatus.State.READY;
            }
            tasks.put(pod.id, started);
            store.save(pod);
            return SandboxStarted.servedByHost(pid, pod.createdAt);
        } catch (SandboxException | IOException | RuntimeException e) {
            if (created) {
                try {
                    runsc.delete(pod.id);
                } catch (SandboxException ignored) {
                    // the start failure is what matters
                }
            }
            reaper.awaitGone(reaper.adopt(runsc.marker()), Duration.ofSeconds(5));
            reaper.forget(runsc.marker());
            synchronized (pod) {
                pod.state = SandboxStatus.State.CREATED;
            }
            throw e instanceof SandboxException se ? se : SandboxException.internal("cannot start gVisor sandbox " + pod.id, e);
        }
    }

    /** The platform chosen by the activation probe (or configured). */
    private String platform() throws SandboxException {
        try {
            return platform.get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException(SandboxException.Code.CANCELLED, "interrupted while probing gVisor platforms");
        } catch (ExecutionException | TimeoutException e) {
            throw SandboxException.internal("cannot choose a gVisor platform", e);
        }
    }

    /** The pause binary's read-only root, shared by every pod's sandbox container ({@link GvisorSpec#pauseRoot}). */
    private Path pauseRootfs() throws IOException {
        return GvisorSpec.pauseRoot(HostFiles.privateDir(runRoot.resolve("pause-rootfs")),
                Path.of(settings.pauseBinary()), settings.pauseArgs().get(0));
    }

    @Override
    public void stop(Pod pod, Duration grace) throws SandboxException {
        RunscTasks t = tasks.get(pod.id);
        if (t == null) {
            return; // never started
        }
        List<CompletableFuture<ExitStatus>> running = new ArrayList<>();
        for (RunscContainer c : pod.containerList()) {
            if (c.init.exit() == null && c.init.started()) {
                running.add(c.init.waitFor());
                signalQuietly(t, c, 15);
            }
        }
        if (!awaitAll(running, grace)) {
            for (RunscContainer c : pod.containerList()) {
                if (c.init.exit() == null) {
                    signalQuietly(t, c, 9);
                }
            }
            awaitAll(running, Duration.ofSeconds(5));
        }
        // Deleting the sandbox container ends the sandbox process and with it every container and exec in it.
        for (RunscContainer c : pod.containerList()) {
            deleteQuietly(t.runsc(), c.id);
            c.deleted = true;
        }
        deleteQuietly(t.runsc(), pod.id);
        List<Long> pids;
        synchronized (pod) {
            pids = new ArrayList<>(pod.sessions);
        }
        pids.addAll(reaper.adopt(t.runsc().marker()));
        if (!reaper.awaitGone(pids, DELETE_GRACE)) {
            // runsc no longer knows the sandbox (a JVM that crashed while deleting it got as far as runsc's state)
            LOG.log(Level.WARNING, "gVisor processes of sandbox " + pod.id + " still run " + DELETE_GRACE.toSeconds()
                    + " s after runsc delete: killing their sessions " + pids);
            reaper.kill(pids);
            if (!reaper.awaitGone(pids, DELETE_GRACE)) {
                LOG.log(Level.WARNING, "gVisor processes of sandbox " + pod.id + " survive SIGKILL: " + pids);
            }
        }
        for (RunscContainer c : pod.containerList()) {
            if (c.init.started()) {
                t.exits().exited(c, c.init, 137); // no-op for an exit already recorded by its runsc wait
            }
        }
        synchronized (pod) {
            pod.sessions.clear();
        }
    }

    private static void signalQuietly(RunscTasks t, RunscContainer c, int signal) {
        try {
            t.runsc().kill(c.id, signal, true);
        } catch (SandboxException e) {
            LOG.log(Level.DEBUG, "signal " + signal + " to " + c.id + " failed", e);
        }
    }

    private static void deleteQuietly(Runsc runsc, String id) {
        try {
            runsc.delete(id);
        } catch (SandboxException e) {
            LOG.log(Level.DEBUG, "runsc delete " + id + " failed", e);
        }
    }

    private static boolean awaitAll(List<CompletableFuture<ExitStatus>> fs, Duration timeout) {
        try {
            CompletableFuture.allOf(fs.toArray(new CompletableFuture[0])).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | TimeoutException e) {
            return false;
        }
    }

    @Override
    public void shutdown(Pod pod) throws SandboxException {
        if (pod.state == SandboxStatus.State.READY) {
            stop(pod, Duration.ZERO);
        }
        RunscTasks t = tasks.remove(pod.id);
        if (t != null) {
            t.close();
            reaper.forget(t.runsc().marker());
        }
        try {
            for (RunscContainer c : pod.containerList()) {
                if (c.rootfsMounted) {
                    HostFiles.unmountAll(c.rootfsDir());
                    c.rootfsMounted = false;
                }
            }
            Path dir = podDir(pod.id);
            HostFiles.unmountAll(dir);
            HostFiles.deleteTree(dir);
            List<String> left = SandboxCgroup.remove(pod.cgroup); // runsc removes it itself; one it left goes
            if (!left.isEmpty()) {
                LOG.log(Level.WARNING, "the cgroup of gVisor sandbox {0} is still in use: {1}", pod.id, left);
            }
        } catch (IOException e) {
            throw SandboxException.internal("cannot clean up gVisor sandbox " + pod.id, e);
        }
    }

    @Override
    public TaskService tasks(Pod pod) throws SandboxException {
        RunscTasks t = tasks.get(pod.id);
        if (t == null) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "sandbox " + pod.id
                    + " is not started");
        }
        return t;
    }

    /**
     * The host's view of the sandbox: its cgroup, which holds the sentry (and so every container's memory and CPU)
     * and its gofers; for a pod started before sandboxes had a cgroup, gVisor's own accounting of the pod's
     * containers, summed ({@link RunscPodMetrics}).
     */
    @Override
    public TypedData metrics(Pod pod) throws SandboxException {
        RunscTasks t = (RunscTasks) tasks(pod);
        return pod.cgroup.isEmpty() ? RunscPodMetrics.of(pod, t.runsc())
                : PodCgroup.metrics(pod.id, pod.cgroup);
    }

    /** The pod's resources cap the sandbox's cgroup ({@link RunscUpdate#capSandbox}). */
    @Override
    public void updateResources(Pod pod, JsonNode resources) throws SandboxException {
        RunscUpdate.capSandbox(pod, resources);
    }

    /**
     * Lets go of one pod for a successor instance: its runsc waits end unrecorded, its terminals stop being copied
     * (their holders keep them), this instance's reaper no longer tracks its processes. Its sandbox runs on.
     */
    @Override
    public void release(Pod pod) {
        RunscTasks t = tasks.remove(pod.id);
        if (t != null) {
            t.release();
        }
    }

    @Override
    public boolean reattach(Pod pod) {
        if (pod.pid <= 0) {
            return true; // never started: nothing runs
        }
        RunscTasks t = newTasks(pod, recordedPlatform(pod));
        Runsc runsc = t.runsc();
        tasks.put(pod.id, t);
        if (pod.state != SandboxStatus.State.READY) {
            return true;
        }
        String root = "--root=" + runsc.root();
        boolean alive = ProcStat.cmdline(pod.pid).stream().anyMatch(a -> a.contains(root));
        if (!alive) {
            t.exits().sandboxGone();
            return false;
        }
        reaper.readopt(pod.sessions);
        reaper.adoptSoon(runsc.marker());
        for (RunscContainer c : pod.containerList()) {
            t.reattachTerminal(c, c.init);
            c.execs.values().stream().filter(x -> x.exit() == null && x.started())
                    .forEach(x -> t.reattachTerminal(c, x));
            if (c.init.exit() == null && c.init.started()) {
                // A new runsc wait asks the sandbox, which keeps a container's exit status until it is deleted:
                // it also answers for a container that ended while no driver (or no JVM) watched.
                rewatch.execute(() -> t.exits().watchInit(c));
            }
            for (GProc x : c.execs.values()) {
                if (x.exit() == null && x.started()) {
                    t.exits().rewatchExec(c, x, t.workDir(c.id));
                }
            }
        }
        return true;
    }

    @Override
    public void warmUp(Pod pod) {
        newTasks(pod, recordedPlatform(pod));
    }

    /** The pod's task service, with a runsc for its sandbox on {@code platform}. */
    private RunscTasks newTasks(Pod pod, String platform) {
        Path dir = podDir(pod.id);
        Runsc runsc = new Runsc(settings, dir.resolve("root"), pod.netnsPath, platform, reaper);
        return new RunscTasks(pod, runsc, store, events, orphans, reaper, dir.resolve("work"), terminals);
    }

    /** A pod started before its platform was recorded ran on ptrace. */
    private static String recordedPlatform(Pod pod) {
        return pod.platform.isEmpty() ? "ptrace" : pod.platform;
    }

    /**
     * The pty holders a killed JVM left unrecorded are recorded first and at once: reattach takes terminals by their
     * records. The runsc waits it left are ended in the background ({@link LeftWaits}).
     */
    @Override
    public void beforeRecovery() {
        Terminals.recordLeftHolders(runRoot.resolve("pods"));
        rewatch.execute(() -> LeftWaits.end(runRoot.resolve("pods")));
    }

    @Override
    public void close() {
        for (RunscTasks t : tasks.values()) {
            t.close();
        }
        tasks.clear();
        rewatch.shutdownNow(); // a wait not started yet is the next instance's to start
    }
}
