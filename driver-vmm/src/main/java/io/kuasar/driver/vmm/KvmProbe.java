package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.driver.kit.HostFiles;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Chooses QEMU's accelerator by really booting the guest with KVM: a /dev/kvm that exists may still not run a stock
 * kernel (this machine kind's kvm_pvm hangs or fails, see FACTS), so only an agent answering inside a KVM guest
 * counts. TCG otherwise. The answer is kept in the state dir, keyed by the host kernel and the guest image, so the
 * probe (seconds of CPU when KVM hangs) runs once per host and image, not at every start of the node.
 */
final class KvmProbe {
    private static final Logger LOG = System.getLogger(KvmProbe.class.getName());
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(20);

    private KvmProbe() {
    }

    static String choose(Vmm vmm, VmmSettings s, Path scratch, Path cacheFile) {
        if (!"auto".equals(s.accel())) {
            return s.accel();
        }
        if (!Files.exists(Path.of("/dev/kvm"))) {
            return "tcg";
        }
        String key;
        try {
            key = Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim() + " "
                    + Files.size(s.initrd()) + " " + Files.getLastModifiedTime(s.initrd()).toMillis();
        } catch (IOException e) {
            return "tcg"; // no image yet: nothing to boot; the next activation probes again
        }
        try {
            String[] cached = Files.readString(cacheFile).trim().split("\n");
            if (cached.length == 2 && cached[0].equals(key)) {
                return cached[1];
            }
        } catch (IOException notYet) {
            // probe below
        }
        String accel = bootsWithKvm(vmm, s, scratch) ? "kvm" : "tcg";
        LOG.log(Level.INFO, "vmm: KVM probe chose " + accel);
        try {
            AtomicFiles.writeAtomically(cacheFile, (key + "\n" + accel + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            LOG.log(Level.WARNING, "vmm: cannot keep the KVM probe's answer in " + cacheFile + ": " + e.getMessage());
        }
        return accel;
    }

    /**
     * Ends a probe VM an earlier JVM left: one killed during its probe (a crash, a test's halt) left QEMU running
     * (it has its own session), and on a host whose KVM does not work that QEMU never gets anywhere; each restart
     * would add one.
     */
    private static void endEarlierProbes(Path scratch) {
        String marker = "kuasar-kvm-probe";
        ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().map(c -> c.contains(marker) && c.contains(scratch.toString()))
                        .orElse(false))
                .forEach(p -> {
                    LOG.log(Level.INFO, "vmm: ending the KVM probe VM an earlier run left (pid " + p.pid() + ")");
                    p.destroyForcibly();
                });
    }

    private static boolean bootsWithKvm(Vmm vmm, VmmSettings s, Path scratch) {
        Vmm.VmInstance vm = null;
        try {
            endEarlierProbes(scratch);
            HostFiles.unmountAndDelete(scratch);
            Files.createDirectories(scratch.resolve("share"));
            vm = vmm.start(new Vmm.VmConfig("kvm-probe", scratch, s.kernel(), s.initrd(), 1, 128, "kvm",
                    scratch.resolve("share"), "", "", "", null, false));
            try (AgentClient agent = AgentClient.connect(vm, PROBE_TIMEOUT, vmm.channels())) {
                agent.awaitReady(PROBE_TIMEOUT);
                return true;
            }
        } catch (Exception e) {
            return false;
        } finally {
            if (vm != null) {
                vmm.stop(vm, Duration.ofMillis(500));
            }
            try {
                HostFiles.unmountAndDelete(scratch);
            } catch (IOException ignored) {
                // a scratch dir, replaced at the next probe
            }
        }
    }
}
