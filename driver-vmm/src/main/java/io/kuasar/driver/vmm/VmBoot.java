package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.PodFiles;
import io.kuasar.driver.kit.SandboxCgroup;
import io.kuasar.driver.vmm.agent.proto.SetupSandboxRequest;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;

/**
 * Starting one pod's VM: its network plumbing, the VMM process, its cgroup, the agent's first answer, and the
 * guest's identity (hostname, DNS, address). Failures name the step and carry the end of the guest's console and
 * QEMU's log, which is where a boot problem shows.
 */
record VmBoot(Vmm vmm, VmmSettings settings, String accel, VmTemplate template) {
    private static final Logger LOG = System.getLogger(VmBoot.class.getName());

    /** Pod annotation: {@code cold} boots the VM even when a template is ready (benchmarks, debugging). */
    static final String BOOT_ANNOTATION = "io.kuasar.vmm.boot";
    /** A restored guest answers within milliseconds; one that does not is replaced by a cold boot. */
    private static final Duration RESTORED_TIMEOUT = Duration.ofSeconds(10);

    void boot(VmPod pod) throws SandboxException {
        for (Path p : new Path[] {settings.kernel(), settings.initrd()}) {
            if (!Files.isRegularFile(p)) {
                throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "guest image file " + p
                        + " is missing: build it with scripts/build-images.sh (or set -Dkuasar.vmm.image.dir)");
            }
        }
        if (!pod.netnsPath.isEmpty() && !Files.exists(Path.of(pod.netnsPath))) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "network namespace " + pod.netnsPath + " of sandbox " + pod.id + " does not exist");
        }
        PodNetwork.Attachment net = null;
        Vmm.VmInstance vm;
        try {
            Files.createDirectories(pod.dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.createDirectories(pod.share());
            writePodFiles(pod);
            if (settings.network() && !pod.netnsPath.isEmpty()) {
                net = PodNetwork.attach(pod.netnsPath);
            }
            if (net != null) {
                synchronized (pod) {
                    pod.tap = PodNetwork.TAP;
                    pod.address = net.address();
                    pod.gateway = net.gateway();
                }
            }
            VmTemplate.Ready t = template == null || pod.coldBoot ? null
                    : template.readyFor(accel, pod.vcpus, pod.memoryMb);
            if (t != null && fromTemplate(pod, net, t)) {
                return;
            }
            vm = vmm.start(config(pod, net, null));
        } catch (IOException e) {
            throw SandboxException.internal("cannot start the VM of sandbox " + pod.id, e);
        }
        pod.boot = "cold";
        ready(pod, vm, net, settings.bootTimeout());
    }

    /** The VM runs: into the pod's cgroup, its agent answers, the guest takes the pod's identity; then READY. */
    private void ready(VmPod pod, Vmm.VmInstance vm, PodNetwork.Attachment net, Duration timeout) throws SandboxException {
        synchronized (pod) {
            pod.pid = vm.pid();
            pod.accel = accel;
        }
        try {
            SandboxCgroup.enter(pod.cgroup, vm.pid(), ((long) pod.memoryMb << 20) + VmCgroupSize.OVERHEAD_BYTES);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "vmm: cannot move QEMU " + vm.pid() + " into cgroup " + pod.cgroup + ": "
                    + e.getMessage());
        }
        AgentClient agent;
        try {
            // a cold boot takes seconds to its first answer, a restored guest milliseconds
            agent = AgentClient.connectReady(vm, timeout, pod.boot.equals("template") ? Duration.ofMillis(1500) : timeout,
                    vmm.channels());
        } catch (IOException | SandboxException e) {
            throw new SandboxException(SandboxException.Code.UNAVAILABLE, "the VM of sandbox " + pod.id
                    + " did not come up (" + e.getMessage() + "); console: " + tail(vm.console())
                    + "; qemu: " + tail(pod.dir.resolve("qemu.log")), e);
        }
        pod.agent = agent;
        SetupSandboxRequest.Builder setup = SetupSandboxRequest.newBuilder()
                .setHostname(pod.hostname)
                .addAllDnsServers(pod.dnsServers)
                .addAllDnsSearches(pod.dnsSearches)
                .addAllDnsOptions(pod.dnsOptions)
                .addAllSysctls(pod.sysctls)
                .setSharedPid(pod.sharedPid)
                .setNowMs(System.currentTimeMillis());
        if (net != null) {
            setup.setAddress(net.address()).setGateway(net.gateway()).setMac(net.mac())
                    .setForwardMac(PortForwards.MAC).setForwardAddress(PortForwards.GUEST_CIDR);
        }
        agent.setupSandbox(setup.build(), timeout);
        synchronized (pod) {
            pod.state = SandboxStatus.State.READY;
        }
    }

    private Vmm.VmConfig config(VmPod pod, PodNetwork.Attachment net, Vmm.MemoryFile memory) {
        return new Vmm.VmConfig(pod.id, pod.dir, settings.kernel(), settings.initrd(), pod.vcpus, pod.memoryMb, accel,
                pod.share(), net == null ? "" : pod.netnsPath, net == null ? "" : PodNetwork.TAP,
                net == null ? "" : net.mac(), memory, memory != null);
    }

    /**
     * Starts the VM by restoring the template; false (and nothing left running) when that fails or the restored
     * guest does not answer quickly, so the caller boots it cold instead.
     */
    private boolean fromTemplate(VmPod pod, PodNetwork.Attachment net, VmTemplate.Ready t) {
        Vmm.VmInstance vm = null;
        long t0 = System.nanoTime();
        try {
            vm = vmm.start(config(pod, net, new Vmm.MemoryFile(t.ram(), false)));
            vmm.restoreState(vm, t.state(), settings.bootTimeout());
            pod.boot = "template";
            ready(pod, vm, net, RESTORED_TIMEOUT);
            LOG.log(Level.INFO, "vmm: sandbox " + pod.id + " restored from the template in "
                    + (System.nanoTime() - t0) / 1_000_000
                    + " ms");
            return true;
        } catch (IOException | SandboxException | RuntimeException e) {
            LOG.log(Level.WARNING, "vmm: sandbox " + pod.id + " cannot start from the template, booting cold: "
                    + e.getMessage()
                    + "; qemu: " + tail(pod.dir.resolve("qemu.log")));
            AgentClient a = pod.agent;
            pod.agent = null;
            if (a != null) {
                a.close();
            }
            if (vm != null) {
                vmm.stop(vm, Duration.ofMillis(500));
            }
            for (String left : new String[] {"qmp.sock", "agent.sock", "console.log"}) {
                try {
                    Files.deleteIfExists(pod.dir.resolve(left));
                } catch (IOException ignored) {
                    // QEMU replaces its sockets anyway
                }
            }
            return false;
        }
    }

    /** The pod's hostname, hosts and resolv.conf, which its containers' specs bind (see GuestBundle). */
    private static void writePodFiles(VmPod pod) throws IOException {
        PodFiles.write(Files.createDirectories(pod.share().resolve(GuestBundle.POD_FILES_DIR)), pod.hostname,
                pod.podConfig);
    }

    static String tail(Path file) {
        try {
            String s = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).strip();
            return s.isEmpty() ? "(empty)" : s.substring(Math.max(0, s.length() - 600));
        } catch (IOException e) {
            return "(none)";
        }
    }
}
