package io.kuasar.driver.vmm;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.driver.kit.DaemonThreads;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.PodCgroup;
import io.kuasar.driver.kit.PodDriver;
import io.kuasar.driver.kit.SandboxCgroup;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.Platform;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
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
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

/**
 * Sandboxer {@code vmm}: every pod is a QEMU micro-VM whose init is Kuasar's guest agent; the host serves the pod's
 * Task API and forwards each call to the agent ({@link VmTasks}). State under {@code stateDir("vmm")}, one
 * directory per pod under {@code runDir("vmm")} (sockets, console, the 9p share).
 */
@Component(service = SandboxDriver.class, property = SandboxDriver.SANDBOXER + "=" + VmmDriver.SANDBOXER)
@Designate(ocd = VmmConfig.class)
public class VmmDriver extends PodDriver<VmPod, PersistedVmPod> {
    static final String SANDBOXER = "vmm";
    private static final Logger LOG = System.getLogger(VmmDriver.class.getName());
    /** Pod dirs are named by this many leading characters of the id: sockets must fit sun_path (108 bytes). */
    private static final int DIR_ID_CHARS = 24;
    /** How long a recovered pod's agent may take to accept the new instance's connection. */
    private static final Duration REATTACH_TIMEOUT = Duration.ofSeconds(60);

    private final VmmSettings settings;
    private final TaskEvents events;
    private final Path runRoot;
    private final Vmm vmm;
    private final OutputPumps pumps = new OutputPumps();
    private final InputPumps inputs = new InputPumps();
    private final CompletableFuture<String> accel;
    private final VmTemplate template;
    private final Map<String, VmTasks> tasks = new ConcurrentHashMap<>();
    /** Where the pods' port mirrors apply forwards (QMP calls block); ends with this instance. */
    private final ScheduledExecutorService portWork = Executors.newSingleThreadScheduledExecutor(
            DaemonThreads.named("kuasar-vmm-ports"));
    /** Set when this instance is deactivated: its watchers must leave the pods to its successor. */
    private volatile boolean retired;

    @Activate
    public VmmDriver(@Reference TaskEvents events, @Reference HostPaths paths, VmmConfig config) throws IOException {
        this(events, paths, VmmSettings.of(config), new QemuVmm(config.qemu_binary()));
    }

    VmmDriver(TaskEvents events, HostPaths paths, VmmSettings settings, Vmm vmm) throws IOException {
        super(VmPod.store(paths.stateDir(SANDBOXER).resolve("pods")), settings.stopTimeout());
        this.settings = settings;
        this.events = events;
        this.vmm = vmm;
        this.runRoot = Files.createDirectories(paths.runDir(SANDBOXER));
        Path probeCache = paths.stateDir(SANDBOXER).resolve("accel");
        // in the background: activation stays quick, and a first start waits for the answer only if it must
        this.accel = CompletableFuture.supplyAsync(() -> KvmProbe.choose(vmm, settings, runRoot.resolve("kvm-probe"), probeCache));
        this.template = settings.template() ? new VmTemplate(vmm, settings, paths.stateDir(SANDBOXER).resolve("template")) : null;
        if (template != null) {
            accel.thenAcceptAsync(template::ensure);
        }
    }

    /**
     * The host's view of the pod: the cgroup metrics of its QEMU process's cgroup (guest RAM as QEMU touched it, vCPU
     * and emulation time), which is what the node pays for the pod. The guest's own view is per container (Task Stats).
     */
    @Override
    protected TypedData metricsOf(VmPod pod) throws SandboxException {
        return PodCgroup.metrics(pod.id, qemuCgroup(pod));
    }

    private static String qemuCgroup(VmPod pod) throws SandboxException {
        String cgroup;
        synchronized (pod) {
            cgroup = pod.cgroup;
        }
        if (cgroup.isEmpty()) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "sandbox " + pod.id + " has no QEMU cgroup (not started)");
        }
        return cgroup;
    }

    /**
     * The pod's resources, written to the QEMU process's host cgroup: a cap on the whole VM (memory, cpu, pids;
     * anything else is refused naming it). The kernel refuses a memory limit below what QEMU holds. A later container
     * Update sizes the cgroup to the containers' limits again ({@link VmUpdate}).
     */
    @Override
    protected void updateResources(VmPod pod, JsonNode resources) throws SandboxException {
        PodCgroup.apply(pod.id, qemuCgroup(pod), resources);
    }

    /** The guest kernel's platform ({@link GuestPlatform}), not the host's. */
    @Override
    public Platform platform(String sandboxId) throws SandboxException {
        pods.get(sandboxId);
        return GuestPlatform.of(settings.kernel());
    }

    @Deactivate
    public void deactivate() {
        retired = true;
        // first: closing the agent connections ends the pumps, which must then leave the stream holders alone
        pumps.retire();
        inputs.close();
        portWork.shutdownNow();
        // VMs keep running: the next instance's recover() reconnects to them. QEMU serves one connection per
        // agent socket, so ours must be closed before the successor connects.
        int closed = 0;
        for (VmPod pod : pods.pods()) {
            AgentClient a = pod.agent;
            pod.agent = null;
            if (a != null) {
                a.closeAndWait();
                closed++;
            }
        }
        LOG.log(Level.INFO, "vmm: driver stopping; closed " + closed + " agent connection(s), VMs keep running");
        pumps.close();
        vmm.close(); // its channels' event loop: nothing of this instance outlives the bundle
    }

    @Override
    protected VmPod newPod(String id, SandboxSpec spec) throws SandboxException {
        List<String> sysctls = PodOptions.sysctls(spec.pod()); // first: a refused sysctl is named even in a host-network pod
        PodOptions.refuseHostNamespaces(spec.pod());
        Map<String, String> annotations = PodOptions.annotations(spec);
        int vcpus = settings.vcpus(annotations);
        int memoryMb = settings.memoryMb(annotations);
        Path dir = runRoot.resolve(id.length() > DIR_ID_CHARS ? id.substring(0, DIR_ID_CHARS) : id);
        if (dir.resolve("agent.sock").toString().length() > 100) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "run dir " + runRoot + " is too long for the VM's sockets");
        }
        VmPod pod = VmPod.of(spec, dir, Instant.now());
        pod.coldBoot = "cold".equals(annotations.get(VmBoot.BOOT_ANNOTATION));
        pod.sysctls = sysctls;
        pod.vcpus = vcpus;
        pod.memoryMb = memoryMb;
        pod.cgroup = VmCgroupSize.path(spec.pod() == null ? "" : spec.pod().cgroupParent(), id);
        for (VmPod other : pods.pods()) {
            if (other.dir.equals(dir)) {
                throw new SandboxException(SandboxException.Code.ALREADY_EXISTS, "sandbox " + id
                        + " shares its first " + DIR_ID_CHARS + " characters with sandbox " + other.id);
            }
        }
        return pod;
    }

    @Override
    protected SandboxStarted startPod(VmPod pod) throws SandboxException {
        try {
            new VmBoot(vmm, settings, accel.join(), template).boot(pod);
        } catch (SandboxException | RuntimeException e) {
            LOG.log(Level.WARNING, "vmm: sandbox " + pod.id + " did not start: " + e.getMessage());
            throw e;
        }
        store.save(pod);
        watchVm(pod);
        PortMirror.start(pod, vmm, portWork);
        return started(pod);
    }

    /** A VM that ends by itself (crash, kill) takes its containers with it: they are recorded as exited. */
    private void watchVm(VmPod pod) {
        long pid = pod.pid;
        ProcessHandle.of(pid).ifPresentOrElse(h -> h.onExit().thenRun(() -> vmGone(pod, pid)), () -> vmGone(pod, pid));
    }

    private void vmGone(VmPod pod, long pid) {
        if (retired) {
            return; // the successor instance watches this VM now
        }
        synchronized (pod) {
            if (pod.pid != pid || pod.state != SandboxStatus.State.READY) {
                return; // a stop or shutdown is handling it
            }
        }
        long oomKills = SandboxCgroup.oomKills(pod.cgroup);
        LOG.log(Level.WARNING, "vmm: the VM of sandbox " + pod.id + " (QEMU " + pid + ") ended by itself"
                + (oomKills > 0 ? ": the OOM killer ended it at the pod cgroup's memory limit (" + pod.cgroup
                        + ")" : "")
                + "; the guest's console ended with:\n" + consoleTail(pod.dir.resolve("console.log"))
                + "\nand QEMU's log with:\n" + consoleTail(pod.dir.resolve("qemu.log")));
        endContainers(pod, ExitStatus.UNKNOWN_CODE);
        Instant now = Instant.now();
        pod.markStopped(now);
        saveQuietly(pod);
        pod.exit.complete(new ExitStatus(0, ExitStatus.UNKNOWN_CODE, now));
    }

    /** The last lines the guest wrote on its serial console: what tells why a VM ended by itself. */
    static String consoleTail(Path console) {
        try {
            List<String> lines = Files.readAllLines(console, java.nio.charset.StandardCharsets.ISO_8859_1);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no console log: " + e.getMessage() + ")";
        }
    }

    /** Records every process that has not exited as ended with {@code code} (its VM is gone). */
    private void endContainers(VmPod pod, int code) {
        VmTasks t = tasks.computeIfAbsent(pod.id, k -> new VmTasks(pod, store, events, pumps, inputs));
        for (VmContainer c : pod.containerList()) {
            for (VmProcess p : c.execs.values()) {
                t.exited(c, p, new ExitStatus(p.pid(), code, Instant.now()));
            }
            if (c.init.pid() > 0) {
                t.exited(c, c.init, new ExitStatus(c.init.pid(), code, Instant.now()));
            }
        }
    }

    private void saveQuietly(VmPod pod) {
        try {
            store.save(pod);
        } catch (SandboxException e) {
            LOG.log(Level.WARNING, "cannot persist sandbox " + pod.id, e);
        }
    }

    /** The VM's end during a stop is expected, not a crash ({@link #vmGone}). */
    @Override
    protected boolean marksStoppedFirst() {
        return true;
    }

    /** Its containers are recorded killed once the VM is gone. */
    @Override
    protected void stopPod(VmPod pod, Duration grace) {
        stopVm(pod, grace);
        endContainers(pod, 128 + 9);
    }

    private void stopVm(VmPod pod, Duration grace) {
        AgentClient a = pod.agent;
        pod.agent = null;
        if (a != null) {
            a.close();
        }
        if (pod.pid > 0 && vmm.isRunning(pod.pid, pod.dir)) {
            vmm.stop(new Vmm.VmInstance(pod.pid, pod.dir.resolve("qmp.sock"), pod.dir.resolve("agent.sock"),
                    pod.dir.resolve("console.log")), grace);
        }
    }

    /**
     * Everything a pod made on the host: VM, mounts, tap, cgroup, files. A READY pod is recorded stopped first: its
     * VM's end is expected now.
     */
    @Override
    protected void removePod(VmPod pod) throws SandboxException {
        synchronized (pod) {
            if (pod.state == SandboxStatus.State.READY) {
                pod.state = SandboxStatus.State.NOTREADY;
            }
        }
        stopVm(pod, Duration.ofSeconds(1));
        PodNetwork.detach(pod.netnsPath);
        List<String> left = SandboxCgroup.remove(pod.cgroup);
        if (!left.isEmpty()) {
            LOG.log(Level.WARNING, "vmm: cgroups of sandbox " + pod.id + " remain: " + left);
        }
        try {
            HostFiles.unmountAndDelete(pod.dir);
        } catch (IOException e) {
            throw SandboxException.internal("cannot remove " + pod.dir + " of sandbox " + pod.id, e);
        }
        tasks.remove(pod.id);
    }

    @Override
    protected TaskService tasksOf(VmPod pod) {
        return tasks.computeIfAbsent(pod.id, k -> new VmTasks(pod, store, events, pumps, inputs));
    }

    @Override
    public Collection<SandboxStatus> recover() {
        return recover(p -> true, VmPod::restore, pod -> {
            if (pod.state == SandboxStatus.State.READY) {
                reattach(pod);
            }
        });
    }

    /**
     * A process to watch again after a reconnect: one still running, or one whose exit is known but whose output
     * was not all delivered yet (its streams' holder still runs: containerd waits for their EOF).
     */
    private static boolean watchAgain(VmContainer c, VmProcess p) {
        return (p.exit() == null && p.status() == io.kuasar.spi.TaskState.Status.RUNNING)
                || OutputPumps.isHolder(p.holderPid, OutputPumps.marker(c.id, p.execId));
    }

    /**
     * Reconnects to a running VM's agent and resumes watching its processes, in the background: at an upgrade the
     * host asks the new instance to recover before the old one has let go of its connection, and QEMU serves one
     * connection per socket, so the new one waits its turn (calls meanwhile are UNAVAILABLE). A VM that is gone,
     * or whose agent never answers, ends the pod.
     */
    private void reattach(VmPod pod) {
        if (!vmm.isRunning(pod.pid, pod.dir)) {
            vmGone(pod, pod.pid);
            return;
        }
        watchVm(pod);
        pod.reattaching = CompletableFuture.runAsync(() -> { // own thread: the common pool may be busy with the template
            try {
                AgentClient a = AgentClient.connectReady(new Vmm.VmInstance(pod.pid, pod.dir.resolve("qmp.sock"),
                        pod.dir.resolve("agent.sock"), pod.dir.resolve("console.log")), REATTACH_TIMEOUT,
                        Duration.ofMillis(1500), vmm.channels());
                pod.agent = a;
                PortMirror.start(pod, vmm, portWork);
                VmTasks t = tasks.computeIfAbsent(pod.id, k -> new VmTasks(pod, store, events, pumps, inputs));
                for (VmContainer c : pod.containerList()) {
                    if (watchAgain(c, c.init)) {
                        t.watch(c, c.init);
                    }
                    for (VmProcess x : c.execs.values()) {
                        if (watchAgain(c, x)) {
                            t.watch(c, x);
                        }
                    }
                }
                LOG.log(Level.INFO, "vmm: reattached to sandbox " + pod.id + " (QEMU " + pod.pid + ")");
            } catch (IOException | SandboxException | RuntimeException e) {
                LOG.log(Level.WARNING, "vmm: cannot reach the agent of sandbox " + pod.id + "; ending its VM", e);
                stopVm(pod, Duration.ofSeconds(1)); // a VM nobody can drive any more would only hold memory
                vmGone(pod, pod.pid);
            }
        }, r -> DaemonThreads.named("kuasar-vmm-reattach-" + pod.id.substring(0, Math.min(12, pod.id.length())))
                .newThread(r).start());
    }
}
