package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.Commands;
import io.kuasar.driver.kit.ProcStat;
import io.kuasar.ttrpc.TtrpcEventLoops;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * QEMU as the VMM: machine {@code pc} (the fastest to boot under TCG here, see FACTS), kernel + initramfs given
 * directly, the agent on a virtserialport backed by a Unix socket on which QEMU is the server (so the host can
 * reconnect after a restart), the pod share over virtio-9p, a tap for the network, QMP for control. Started through
 * {@code setsid} (own session: no signal for the JVM's process group reaches it) and, for a pod with a network
 * namespace, {@code nsenter --net} so the tap lives in the pod's namespace. Output goes to a file, never a pipe,
 * so QEMU never blocks or dies on a pipe the JVM held.
 */
final class QemuVmm implements Vmm {
    @Override
    public synchronized EventLoopGroup channels() {
        if (channels == null) {
            channels = TtrpcEventLoops.newGroup(1, "kuasar-vmm-channels");
        }
        return channels;
    }

    @Override
    public synchronized void close() {
        if (channels != null) {
            channels.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    private static final Logger LOG = System.getLogger(QemuVmm.class.getName());

    /**
     * TCG's translated-code buffer, in MiB. QEMU's default is 1 GiB, filled as the guest runs new code (every exec
     * does), and backed by huge pages: a pod that took a few dozen execs grew past its cgroup's memory limit and
     * QEMU was OOM-killed. 64 MiB holds a busybox guest's working set; a full buffer is flushed, not grown.
     */
    static final int TCG_TRANSLATION_CACHE_MB = 64;

    /** The NIC's MAC in template-compatible VMs; the agent gives eth0 the pod's own MAC at setup. */
    static final String TEMPLATE_MAC = "52:54:00:4b:56:4d";
    /** Device state only: the RAM is in the template's shared memory file. */
    private static final Map<String, Object> IGNORE_SHARED = Map.of("capabilities",
            List.of(Map.of("capability", "x-ignore-shared", "state", true)));

    private final String binary;
    /** Made when first needed: a QemuVmm that only builds command lines starts no thread. */
    private EventLoopGroup channels;

    QemuVmm(String binary) {
        this.binary = binary;
    }

    @Override
    public String name() {
        return "qemu";
    }

    @Override
    public List<String> commandLine(VmConfig c) {
        Path dir = c.dir();
        List<String> a = new ArrayList<>(List.of(binary,
                "-name", "kuasar-" + c.podId(),
                "-machine", "pc" + (c.memory() == null ? "" : ",memory-backend=mem"),
                "-accel", c.accel() + ("tcg".equals(c.accel()) ? ",tb-size=" + TCG_TRANSLATION_CACHE_MB : ""),
                "-cpu", "kvm".equals(c.accel()) ? "host" : "max",
                "-smp", Integer.toString(c.vcpus()),
                "-m", c.memoryMb() + "M",
                "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                // QEMU's seccomp filter: the guest is untrusted and QEMU runs as root, so a device-emulation bug the
                // guest exploits must not reach set*id, old syscalls, scheduler/resource changes or (without a
                // template, whose migration runs "exec:cat") fork/exec.
                "-sandbox", "on,obsolete=deny,elevateprivileges=deny,resourcecontrol=deny"
                        + (c.memory() == null ? ",spawn=deny" : ""),
                "-kernel", c.kernel().toString(),
                "-initrd", c.initrd().toString(),
                // quiet + no probing of legacy devices the guest does not have: every step costs under TCG
                "-append", "console=ttyS0 quiet panic=-1 i8042.noaux i8042.nokbd i8042.nopnp noreplace-smp",
                "-serial", "file:" + dir.resolve("console.log"),
                "-qmp", "unix:" + dir.resolve("qmp.sock") + ",server=on,wait=off",
                "-device", "virtio-serial-pci,id=vser",
                "-chardev", "socket,id=agent,path=" + dir.resolve("agent.sock") + ",server=on,wait=off",
                "-device", "virtserialport,bus=vser.0,chardev=agent,name=kuasar.agent",
                "-fsdev", "local,id=share,path=" + c.share() + ",security_model=none,multidevs=remap",
                "-device", "virtio-9p-pci,fsdev=share,mount_tag=kshare"));
        if (c.memory() != null) {
            a.addAll(List.of("-object", "memory-backend-file,id=mem,size=" + c.memoryMb() + "M,mem-path="
                    + c.memory().file() + ",share=" + (c.memory().shared() ? "on" : "off")));
        }
        // A templated VM always has its NIC (the device set must match the template's); without a pod network
        // its backend is a hub port that reaches nothing.
        if (!c.tap().isEmpty()) {
            a.addAll(List.of("-netdev", "tap,id=net0,ifname=" + c.tap() + ",script=no,downscript=no"));
        } else if (c.memory() != null) {
            a.addAll(List.of("-netdev", "hubport,id=net0,hubid=0")); // no migration state, unlike user-mode (slirp)
        }
        if (!c.tap().isEmpty() || c.memory() != null) {
            a.addAll(List.of("-device", "virtio-net-pci,netdev=net0,mac="
                    + (c.memory() != null ? TEMPLATE_MAC : c.mac())));
            // with the pod NIC, in templates too: a restored VM must have the template's devices (and slirp's state)
            a.addAll(PortForwards.qemuArguments());
        }
        if (c.incoming()) {
            a.addAll(List.of("-incoming", "defer"));
        }
        return a;
    }

    @Override
    public void forwardPorts(VmInstance vm, Set<Integer> ports) throws IOException {
        try (QmpClient qmp = QmpClient.connect(vm.controlSocket(), Duration.ofSeconds(5), channels())) {
            Set<Integer> have = PortForwards.forwarded(monitor(qmp, "info usernet"));
            for (int p : have) {
                if (!ports.contains(p)) {
                    String cmd = PortForwards.remove(p);
                    PortForwards.checkAnswer(cmd, monitor(qmp, cmd));
                }
            }
            for (int p : ports) {
                if (!have.contains(p)) {
                    String cmd = PortForwards.add(p);
                    try {
                        PortForwards.checkAnswer(cmd, monitor(qmp, cmd));
                    } catch (PortForwards.NoForwardNic e) {
                        throw e;
                    } catch (IOException e) { // e.g. something else of the pod's namespace listens on it
                        LOG.log(Level.WARNING, "QEMU " + vm.pid() + " cannot forward port " + p + ": "
                                + e.getMessage());
                    }
                }
            }
        }
    }

    /** A human-monitor command (what QEMU has no QMP command for), its text answer. */
    private static String monitor(QmpClient qmp, String command) throws IOException {
        return qmp.execute("human-monitor-command", Map.of("command-line", command)).asText();
    }

    @Override
    public VmInstance start(VmConfig c) throws IOException {
        List<String> argv = new ArrayList<>(List.of("setsid"));
        if (!c.netns().isEmpty()) {
            argv.addAll(List.of("nsenter", "--net=" + c.netns(), "--"));
        }
        argv.addAll(commandLine(c));
        Path log = c.dir().resolve("qemu.log");
        Process p = new ProcessBuilder(argv)
                .redirectInput(ProcessBuilder.Redirect.from(Commands.DEV_NULL))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true)
                .start();
        return new VmInstance(p.pid(), c.dir().resolve("qmp.sock"), c.dir().resolve("agent.sock"),
                c.dir().resolve("console.log"));
    }

    @Override
    public void stop(VmInstance vm, Duration grace) {
        Optional<ProcessHandle> h = ProcessHandle.of(vm.pid());
        if (h.isEmpty()) {
            return;
        }
        try (QmpClient qmp = QmpClient.connect(vm.controlSocket(), Duration.ofSeconds(2), channels())) {
            qmp.execute("quit", null);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "QMP quit of " + vm.pid() + " failed; killing it", e);
        }
        try {
            h.get().onExit().get(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception timeoutOrInterrupt) {
            h.get().destroyForcibly();
            try {
                h.get().onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.log(Level.WARNING, "QEMU " + vm.pid() + " did not die after SIGKILL");
            }
        }
    }

    @Override
    public boolean isRunning(long pid, Path dir) {
        if (pid <= 0 || ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) == false) {
            return false;
        }
        String qmp = dir.resolve("qmp.sock").toString();
        return ProcStat.cmdline(pid).stream().anyMatch(a -> a.contains(qmp));
    }

    @Override
    public void saveState(VmInstance vm, Path file, Duration timeout) throws IOException {
        try (QmpClient qmp = QmpClient.connect(vm.controlSocket(), timeout, channels())) {
            qmp.execute("migrate-set-capabilities", IGNORE_SHARED);
            qmp.execute("stop", null);
            qmp.execute("migrate", Map.of("uri", "exec:cat > " + file));
            awaitMigration(qmp, timeout, "saving VM state to " + file);
        }
    }

    @Override
    public void restoreState(VmInstance vm, Path file, Duration timeout) throws IOException {
        try (QmpClient qmp = QmpClient.connect(vm.controlSocket(), timeout, channels())) {
            qmp.execute("migrate-set-capabilities", IGNORE_SHARED);
            qmp.execute("migrate-incoming", Map.of("uri", "exec:cat " + file));
            awaitMigration(qmp, timeout, "restoring VM state from " + file);
            qmp.execute("cont", null); // the template was stopped when saved, so is its copy
        }
    }

    private static void awaitMigration(QmpClient qmp, Duration timeout, String what) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String status = qmp.execute("query-migrate", null).path("status").asText();
            if ("completed".equals(status)) {
                return;
            }
            if ("failed".equals(status) || System.nanoTime() > deadline) {
                throw new IOException(what + ": migration " + status);
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while " + what, e);
            }
        }
    }
}
