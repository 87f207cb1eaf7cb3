package io.kuasar.driver.vmm;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.PodCgroup;
import io.kuasar.driver.kit.PodDriver;
import io.kuasar.driver.kit.SandboxCgroup;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.Platform;
import io.kuasar.spi.SandboxDriver;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

/**
 * Sandboxer {@code vmm}: every pod is a QEMU micro-VM whose init is Kuasar's guest agent; the host serves the pod's
 * Task API and forwards each call to the agent ({@link VmTasks}). State under {@code stateDir("vmm")}, one
 * directory per pod under {@code runDir("vmm")} (sockets, console, the 9p share). At an upgrade it hands its pods
 * to the next instance one at a time ({@link SandboxHandover}): the VMs keep running, only the host's hold on them
 * (agent connection, pumps, watchers: {@link VmAttachments}) changes hands.
 */
@Component(service = SandboxDriver.class, property = SandboxDriver.SANDBOXER + "=" + VmmDriver.SANDBOXER)
@Designate(ocd = VmmConfig.class)
public class VmmDriver extends PodDriver<VmPod, PersistedVmPod> implements SandboxHandover {
    static final String SANDBOXER = "vmm";
    private static final Logger LOG = System.getLogger(VmmDriver.class.getName());
    /** Pod dirs are named by this many leading characters of the id: sockets must fit sun_path (108 bytes). */
    private static final int DIR_ID_CHARS = 24;

    private final VmmSettings settings;
    private final TaskEvents events;
    private final Path runRoot;
    private final Vmm vmm;
    private final OutputPumps pumps = new OutputPumps();
    private final InputPumps inputs = new InputPumps();
    private final CompletableFuture<String> accel;
    private final VmTemplate template;
    private final Map<String, VmTasks> tasks = new ConcurrentHashMap<>();
    private final VmAttachments attachments;

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
        this.attachments = new VmAttachments(vmm, this::tasksOf, this::vmGone);
        Path probeCache = paths.stateDir(SANDBOXER).resolve("accel");
        // in the background: activation stays quick, and a first start waits for the answer only if it must
        this.accel = CompletableFuture.supplyAsync(() -> KvmProbe.choose(vmm, settings, runRoot.resolve("kvm-probe"), probeCache));
        this.template = settings.template() ? new VmTemplate(vmm, settings, paths.stateDir(SANDBOXER).resolve("template")) : null;
        if (template != null) {
            accel.thenAcceptAsync(template::ensure);
        }
        warmUp(); // a successor's first adopt then finds the pod classes loaded
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

    /**
     * Lets go of the pods it still holds (none after a handover: those released are no longer its own); their VMs
     * keep running for the next instance's recover().
     */
    @Deactivate
    public void deactivate() {
        int held = 0;
        for (VmPod pod : pods.pods()) {
            attachments.letGo(pod);
            held++;
        }
        LOG.log(Level.INFO, "vmm: driver stopping; let go of " + held + " sandbox(es), VMs keep running");
        inputs.close();
        attachments.close();
        pumps.close();
        vmm.close(); // its channels' event loop: nothing of this instance outlives the bundle
    }

    /** Handover: the pod's VM keeps running; this instance lets go of it ({@link VmAttachments#letGo}). */
    @Override
    public void release(String sandboxId) throws SandboxException {
        VmPod pod = releasePod(sandboxId);
        attachments.letGo(pod);
        tasks.remove(pod.id);
        LOG.log(Level.INFO, "vmm: released sandbox " + pod.id + " (QEMU " + pod.pid + ") to the next instance");
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
        attachments.booted(pod);
        return started(pod);
    }

    /** Its containers are recorded as exited, unless this instance let go of the pod (its successor tells). */
    private void vmGone(VmPod pod, long pid) {
        pod.whileHeld(() -> {
            recordVmGone(pod, pid);
            return true;
        });
    }

    private void recordVmGone(VmPod pod, long pid) {
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
        VmTasks t = tasksOf(pod);
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
        attachments.stop(pod, grace);
        endContainers(pod, 128 + 9);
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
        attachments.stop(pod, Duration.ofSeconds(1));
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
    protected VmTasks tasksOf(VmPod pod) {
        return tasks.computeIfAbsent(pod.id, k -> new VmTasks(pod, store, events, pumps, inputs));
    }

    /** The step of recover() and adopt() (a pod its predecessor released): a pod whose VM ran is attached to again. */
    @Override
    protected void resume(VmPod pod) {
        if (pod.state == SandboxStatus.State.READY) {
            attachments.reattach(pod);
        }
    }
}
