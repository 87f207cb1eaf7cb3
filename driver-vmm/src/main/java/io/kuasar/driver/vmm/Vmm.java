package io.kuasar.driver.vmm;

import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * A virtual machine monitor that can run a pod's VM: QEMU today ({@link QemuVmm}); Cloud Hypervisor or Firecracker
 * would implement the same. The VM it starts must outlive this JVM (its own session, not a child that dies with
 * the driver), expose the agent's virtio-serial port as {@link VmInstance#agentSocket()} and the pod share as
 * the 9p tag {@code kshare}.
 */
interface Vmm {
    /**
     * How to run one VM. {@code tap} and {@code mac} are empty when the pod has no network. {@code memory} is null
     * for anonymous guest RAM, else the file backing it (templating); {@code incoming} starts the VM waiting for a
     * saved state instead of booting.
     */
    record VmConfig(String podId, Path dir, Path kernel, Path initrd, int vcpus, int memoryMb, String accel,
                    Path share, String netns, String tap, String mac, MemoryFile memory, boolean incoming) {
    }

    /**
     * Guest RAM in a file: {@code shared} for a template (the guest writes into the file, which becomes the memory
     * image), private for a VM restored from it (the file's pages are shared copy-on-write by every such VM).
     */
    record MemoryFile(Path file, boolean shared) {
    }

    /** A running VM: its VMM process and where to reach it. */
    record VmInstance(long pid, Path controlSocket, Path agentSocket, Path console) {
    }

    String name();

    /** Starts the VM without waiting for its guest; IOException when the VMM process cannot be started. */
    VmInstance start(VmConfig config) throws IOException;

    /** Stops the VM: a polite quit through the control socket, then SIGKILL after {@code grace}. */
    void stop(VmInstance vm, Duration grace);

    /** True when {@code pid} is still this pod's VMM (its command line names the pod's dir, so a reused pid is not). */
    boolean isRunning(long pid, Path dir);

    /** Stops a template VM and saves its device state to {@code file}; its RAM stays in its memory file. */
    default void saveState(VmInstance vm, Path file, Duration timeout) throws IOException {
        throw new UnsupportedOperationException(name() + " cannot save VM state");
    }

    /** Loads a state saved by {@link #saveState} into a VM started with {@code incoming}, and runs it. */
    default void restoreState(VmInstance vm, Path file, Duration timeout) throws IOException {
        throw new UnsupportedOperationException(name() + " cannot restore VM state");
    }

    /**
     * Makes the VM's port forwards exactly {@code ports}: each listens on loopback in the VMM's network namespace
     * (the pod's) and reaches the same port of the guest through its forward NIC ({@link PortForwards}). Idempotent:
     * it reads what the VMM forwards now, so a restarted driver converges too. A port the VMM cannot listen on is
     * logged and left out; {@link PortForwards.NoForwardNic} when the VM has no forward NIC.
     */
    default void forwardPorts(VmInstance vm, Set<Integer> ports) throws IOException {
        throw new PortForwards.NoForwardNic(name() + " cannot forward ports");
    }

    /** The arguments the VMM would be started with (for tests and logs). */
    List<String> commandLine(VmConfig config);

    /** The event loop of the host's side of the VMs' channels (agent sockets), owned by this instance. */
    EventLoopGroup channels();

    /** Ends {@link #channels()}; the VMs themselves keep running. */
    void close();
}
