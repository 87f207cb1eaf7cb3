package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.PodRecord;
import io.kuasar.driver.kit.PodStore;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskState;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * A VM pod as the driver holds it. Mutable fields are guarded by the object's monitor (held while the state file's
 * snapshot is taken); {@link #lifecycle} serialises start, stop and shutdown.
 */
final class VmPod extends PodRecord<VmContainer> {
    final Path dir;
    /** Guest settings from the pod config (not persisted: only needed at start). */
    List<String> dnsServers = List.of();
    List<String> dnsSearches = List.of();
    List<String> dnsOptions = List.of();
    /** CRI's pod config, null without one (the pod's files are made from it at start). */
    PodConfig podConfig;
    /** The pod's sysctls, "name=value", checked at Create. */
    List<String> sysctls = List.of();
    /** Its containers share one PID namespace (shareProcessNamespace). */
    boolean sharedPid;
    String accel = "";
    int vcpus;
    int memoryMb;
    String tap = "";
    String address = "";
    String gateway = "";
    String cgroup = "";
    /** The pod asked for a cold boot (annotation io.kuasar.vmm.boot=cold); only needed at start. */
    boolean coldBoot;
    /** How its VM started: "template" or "cold". */
    String boot = "";
    /** The agent connection, null before start and after the VM is gone. */
    volatile AgentClient agent;
    /** Set while a recovered pod's agent is being reconnected; task calls wait for it. */
    volatile CompletableFuture<Void> reattaching;
    /** The watch on its QEMU process's end; cancelled when this instance lets go of the pod. */
    volatile CompletableFuture<ProcessHandle> vmExit;
    /** Guards {@link #released}: what an exit changes (record, state file, events) is done whole or not at all. */
    private final Object holding = new Object();
    /** Set when this instance let go of the pod (a handover, or the instance stopping): it never touches it again. */
    private volatile boolean released;

    VmPod(String id, String namespace, String netnsPath, String hostname, Instant createdAt, Map<String, String> labels,
          Path dir) {
        super(id, namespace, netnsPath, hostname, createdAt, labels);
        this.dir = dir;
    }

    /** The driver's VM pods on disk, one JSON file each under {@code dir}. */
    static PodStore<VmPod, PersistedVmPod> store(Path dir) throws IOException {
        return new PodStore<>(dir, PersistedVmPod.class, PersistedVmPod::id, VmPod::persisted, VmPod::restore);
    }

    static VmPod of(SandboxSpec spec, Path dir, Instant now) {
        VmPod pod = new VmPod(spec.id(), spec.namespace(), spec.netnsPath(),
                spec.pod() == null ? "" : spec.pod().hostname(), now, spec.labels(), dir);
        if (spec.pod() != null) {
            pod.podConfig = spec.pod();
            pod.dnsServers = spec.pod().dnsServers();
            pod.dnsSearches = spec.pod().dnsSearches();
            pod.dnsOptions = spec.pod().dnsOptions();
            pod.sharedPid = spec.pod().pid() == PodConfig.NamespaceMode.POD;
        }
        return pod;
    }

    /**
     * Runs {@code change} while this instance still holds the pod and returns its answer; false, without running it,
     * once the instance let go ({@link #release}), which waits for a change in progress.
     */
    boolean whileHeld(BooleanSupplier change) {
        synchronized (holding) {
            return !released && change.getAsBoolean();
        }
    }

    /** This instance lets go of the pod: after the change in progress ({@link #whileHeld}), if any, none runs. */
    void release() {
        synchronized (holding) {
            released = true;
        }
    }

    boolean released() {
        return released;
    }

    Path share() {
        return dir.resolve("share");
    }

    @Override
    public synchronized SandboxStatus status(boolean verbose) {
        Map<String, String> info = new LinkedHashMap<>();
        if (verbose) {
            info.put("vmm", "qemu");
            info.put("accel", accel);
            info.put("boot", boot);
            info.put("vcpus", Integer.toString(vcpus));
            info.put("memory_mb", Integer.toString(memoryMb));
            info.put("address", address);
            info.put("containers", String.join(",", containers.keySet()));
        }
        return new SandboxStatus(id, VmmDriver.SANDBOXER, namespace, state, pid, createdAt, exitedAt, "", info);
    }

    synchronized PersistedVmPod persisted() {
        List<PersistedVmPod.Container> cs = new ArrayList<>();
        for (VmContainer c : containers.values()) {
            ExitStatus e = c.init.exit();
            Stdio s = c.init.stdio;
            List<PersistedVmPod.Exec> execs = new ArrayList<>();
            for (VmProcess x : c.execs.values()) {
                ExitStatus xe = x.exit();
                execs.add(new PersistedVmPod.Exec(x.execId, x.stdio.stdin(), x.stdio.stdout(), x.stdio.stderr(),
                        x.pid(), x.status().name(), xe == null ? null : xe.code(),
                        xe == null ? null : xe.exitedAt().toString(), x.holderPid, x.stdio.terminal()));
            }
            cs.add(new PersistedVmPod.Container(c.id, c.bundle.toString(), s.stdin(), s.stdout(), s.stderr(),
                    c.init.pid(), c.init.status().name(), e == null ? null : e.code(),
                    e == null ? null : e.exitedAt().toString(), c.init.holderPid, execs, s.terminal()));
        }
        return new PersistedVmPod(PersistedVmPod.VERSION, id, namespace, netnsPath, hostname, state.name(), pid,
                createdAt.toString(), exitedAt == null ? null : exitedAt.toString(), dir.toString(), accel, vcpus,
                memoryMb, tap, address, gateway, cgroup, labels, cs);
    }

    static VmPod restore(PersistedVmPod p) {
        VmPod pod = new VmPod(p.id(), p.namespace(), p.netnsPath(), p.hostname(), Instant.parse(p.createdAt()),
                p.labels() == null ? Map.of() : p.labels(), Path.of(p.dir()));
        pod.state = SandboxStatus.State.valueOf(p.state());
        pod.pid = p.pid();
        pod.exitedAt = p.exitedAt() == null ? null : Instant.parse(p.exitedAt());
        pod.accel = nz(p.accel());
        pod.vcpus = p.vcpus();
        pod.memoryMb = p.memoryMb();
        pod.tap = nz(p.tap());
        pod.address = nz(p.address());
        pod.gateway = nz(p.gateway());
        pod.cgroup = nz(p.cgroup());
        for (PersistedVmPod.Container c : p.containers() == null ? List.<PersistedVmPod.Container>of() : p.containers()) {
            VmProcess init = new VmProcess("", new Stdio(c.stdin(), c.stdout(), c.stderr(),
                    Boolean.TRUE.equals(c.terminal())));
            ExitStatus e = c.exitCode() == null ? null
                    : new ExitStatus(c.pid(), c.exitCode(), Instant.parse(c.exitedAt()));
            init.restore(c.pid(), TaskState.Status.valueOf(c.status()), e);
            init.holderPid = c.holderPid();
            VmContainer container = new VmContainer(c.id(), Path.of(c.bundle()), List.of(), init);
            for (PersistedVmPod.Exec x : c.execs() == null ? List.<PersistedVmPod.Exec>of() : c.execs()) {
                VmProcess exec = new VmProcess(x.execId(), new Stdio(x.stdin(), x.stdout(), x.stderr(),
                        Boolean.TRUE.equals(x.terminal())));
                exec.restore(x.pid(), TaskState.Status.valueOf(x.status()), x.exitCode() == null ? null
                        : new ExitStatus(x.pid(), x.exitCode(), Instant.parse(x.exitedAt())));
                exec.holderPid = x.holderPid();
                container.execs.put(x.execId(), exec);
            }
            pod.containers.put(c.id(), container);
        }
        if (pod.exitedAt != null) {
            pod.exit.complete(new ExitStatus(0, 0, pod.exitedAt));
        }
        return pod;
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
