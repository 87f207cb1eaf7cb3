package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.driver.kit.HostFiles;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/**
 * VM templating: a guest booted once to a ready agent, then saved, so a pod's VM starts by restoring it instead of
 * booting (Kata's approach, which Kuasar lacks). The template's RAM lives in a file it wrote through a shared
 * mapping; its device state is saved with QEMU's migration (x-ignore-shared: the RAM is not copied). A restored VM
 * maps the RAM file privately, so every pod shares the template's pages copy-on-write and loads only the small
 * device state. The template has not mounted the pod share yet (a mounted 9p export blocks migration), its NIC
 * has a placeholder MAC; the agent takes the pod's share, MAC, address, hostname and clock at SetupSandbox.
 *
 * <p>One template per guest image, accelerator and VM size (the defaults), under {@code stateDir/template/KEY}:
 * {@code ram}, {@code state}, {@code ready}. It survives restarts of the node; a changed image gives a new key.
 */
record VmTemplate(Vmm vmm, VmmSettings settings, Path root) {
    private static final Logger LOG = System.getLogger(VmTemplate.class.getName());
    private static final Duration SAVE_TIMEOUT = Duration.ofSeconds(60);
    /** Names the devices a templated VM has: a template of other devices cannot be restored (2: the forward NIC). */
    private static final int DEVICE_SET = 2;

    /** A template that can be restored. */
    record Ready(Path ram, Path state) {
    }

    private Path dirFor(String accel, int vcpus, int memoryMb) throws IOException {
        String key = Files.size(settings.kernel()) + " " + Files.getLastModifiedTime(settings.kernel()).toMillis() + " "
                + Files.size(settings.initrd()) + " " + Files.getLastModifiedTime(settings.initrd()).toMillis() + " "
                + settings.qemu() + " " + accel + " " + vcpus + " " + memoryMb + " " + DEVICE_SET;
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return root.resolve(HexFormat.of().formatHex(h, 0, 8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The ready template for a VM of this size, or null (none built yet, or another size: cold boot). */
    Ready readyFor(String accel, int vcpus, int memoryMb) {
        try {
            Path dir = dirFor(accel, vcpus, memoryMb);
            return Files.exists(dir.resolve("ready")) ? new Ready(dir.resolve("ram"), dir.resolve("state")) : null;
        } catch (IOException noImage) {
            return null;
        }
    }

    /** Builds the template of the default size unless it exists; failures are logged (pods then boot cold). */
    synchronized void ensure(String accel) {
        if (readyFor(accel, settings.defaultVcpus(), settings.defaultMemoryMb()) != null) {
            return;
        }
        long t0 = System.nanoTime();
        try {
            Path dir = dirFor(accel, settings.defaultVcpus(), settings.defaultMemoryMb());
            removeOthers(dir);
            build(dir, accel);
            LOG.log(Level.INFO, "vmm: template " + dir.getFileName() + " built in "
                    + (System.nanoTime() - t0) / 1_000_000 + " ms");
        } catch (Exception e) {
            LOG.log(Level.WARNING, "vmm: cannot build the VM template; pods boot cold", e);
        }
    }

    private void build(Path dir, String accel) throws Exception {
        stopLeftover(dir);
        HostFiles.unmountAndDelete(dir);
        Files.createDirectories(dir.resolve("share"));
        Vmm.VmInstance vm = vmm.start(new Vmm.VmConfig("template", dir, settings.kernel(), settings.initrd(),
                settings.defaultVcpus(), settings.defaultMemoryMb(), accel, dir.resolve("share"), "", "", "",
                new Vmm.MemoryFile(dir.resolve("ram"), true), false));
        // recorded so that a build cut short by a kill -9 of the JVM does not leave its VM running for good
        Files.writeString(dir.resolve("qemu.pid"), Long.toString(vm.pid()));
        try {
            // Saved while the host is still connected: a disconnect before the save would leave its "host closed"
            // message in the guest's virtio-serial queue, and a restored guest could take it after its new host had
            // connected and stop answering. The close after the save never reaches the saved state.
            try (AgentClient agent = AgentClient.connect(vm, settings.bootTimeout(), vmm.channels())) {
                agent.awaitReady(settings.bootTimeout());
                vmm.saveState(vm, dir.resolve("state"), SAVE_TIMEOUT);
            }
        } finally {
            vmm.stop(vm, Duration.ofSeconds(5));
        }
        for (String left : new String[] {"qmp.sock", "agent.sock"}) {
            Files.deleteIfExists(dir.resolve(left));
        }
        AtomicFiles.writeAtomically(dir.resolve("ready"), accel.getBytes(StandardCharsets.UTF_8));
    }

    /** Stops a template VM an interrupted build left running in {@code dir}. */
    private void stopLeftover(Path dir) {
        try {
            long pid = Long.parseLong(Files.readString(dir.resolve("qemu.pid")).trim());
            if (vmm.isRunning(pid, dir)) {
                LOG.log(Level.INFO, "vmm: stopping template VM " + pid + " left by an interrupted build");
                vmm.stop(new Vmm.VmInstance(pid, dir.resolve("qmp.sock"), dir.resolve("agent.sock"),
                        dir.resolve("console.log")), Duration.ofSeconds(1));
            }
        } catch (IOException | NumberFormatException none) {
            // no build was interrupted here
        }
    }

    /** Templates of an older image or size: their files go (VMs restored from them keep their mapped pages). */
    private void removeOthers(Path keep) {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
            for (Path d : dirs) {
                if (!d.equals(keep)) {
                    stopLeftover(d);
                    HostFiles.unmountAndDelete(d);
                }
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "cannot remove old templates under " + root, e);
        }
    }
}
