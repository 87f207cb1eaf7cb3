package io.kuasar.driver.vmm;

import io.kuasar.driver.vmm.agent.proto.PortsResponse;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Keeps a pod's port forwards equal to the ports its guest listens on (a Lima-style port mirror): a long poll of the
 * agent's WatchPorts, and on each answer QEMU's forwards made equal to the set ({@link Vmm#forwardPorts}). Runs
 * while the connection it started on is the pod's; a reconnect (driver restart, upgrade) starts a new mirror, which
 * asks for the set at once and converges QEMU to it. QMP is blocking, so answers are handled on {@code work}, never
 * on the channels' event loop.
 */
final class PortMirror {
    private static final Logger LOG = System.getLogger(PortMirror.class.getName());
    /** Least time between two rounds: an agent answering at once every time must not keep the host busy. */
    private static final long MIN_ROUND_MS = 250;
    /** After a failed round the set is asked for again this much later (0 as known version: answered at once). */
    private static final long RETRY_MS = 2000;

    private final VmPod pod;
    private final AgentClient agent;
    private final Vmm vmm;
    private final Vmm.VmInstance vm;
    private final ScheduledExecutorService work;

    private PortMirror(VmPod pod, AgentClient agent, Vmm vmm, ScheduledExecutorService work) {
        this.pod = pod;
        this.agent = agent;
        this.vmm = vmm;
        this.vm = new Vmm.VmInstance(pod.pid, pod.dir.resolve("qmp.sock"), pod.dir.resolve("agent.sock"),
                pod.dir.resolve("console.log"));
        this.work = work;
    }

    /**
     * Starts mirroring for a pod whose QEMU runs in the pod's network namespace (it has the pod NIC): only there do
     * forwards listen where containerd dials. A pod without one (QEMU in the host's namespace) gets none.
     */
    static void start(VmPod pod, Vmm vmm, ScheduledExecutorService work) {
        AgentClient agent = pod.agent;
        if (pod.tap.isEmpty() || agent == null) {
            return;
        }
        new PortMirror(pod, agent, vmm, work).watch(0, 0);
    }

    private boolean current() {
        synchronized (pod) {
            return pod.agent == agent && pod.state == SandboxStatus.State.READY && agent.isOpen();
        }
    }

    private void watch(long known, long delayMs) {
        try {
            work.schedule(() -> {
                if (current()) {
                    agent.watchPorts(known).whenComplete((r, e) -> handOver(() -> answered(r, e)));
                }
            }, delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException driverStopping) {
            // the driver instance is going; its successor mirrors this pod
        }
    }

    private void handOver(Runnable r) {
        try {
            work.execute(r);
        } catch (RejectedExecutionException driverStopping) {
            // as above
        }
    }

    private void answered(PortsResponse r, Throwable e) {
        if (!current()) {
            return;
        }
        if (e != null) {
            SandboxException s = AgentClient.toSandbox("WatchPorts", e);
            if (s.code() == SandboxException.Code.UNIMPLEMENTED) {
                LOG.log(Level.WARNING, "vmm: the agent of sandbox " + pod.id + " has no WatchPorts (an older guest"
                        + " image): no port-forward into it");
                return;
            }
            LOG.log(Level.DEBUG, "vmm: WatchPorts of sandbox " + pod.id + " failed: " + s.getMessage());
            watch(0, RETRY_MS);
            return;
        }
        long started = System.nanoTime();
        Set<Integer> ports = PortForwards.wanted(r.getPortsList());
        try {
            vmm.forwardPorts(vm, ports);
            LOG.log(Level.DEBUG, "vmm: sandbox " + pod.id + " forwards ports " + ports);
        } catch (PortForwards.NoForwardNic none) {
            LOG.log(Level.WARNING, "vmm: no port-forward into sandbox " + pod.id + ": " + none.getMessage());
            return;
        } catch (IOException | RuntimeException failed) {
            LOG.log(Level.WARNING, "vmm: cannot forward ports " + ports + " of sandbox " + pod.id + ": "
                    + failed.getMessage());
            watch(0, RETRY_MS);
            return;
        }
        long spentMs = (System.nanoTime() - started) / 1_000_000;
        watch(r.getVersion(), Math.max(0, MIN_ROUND_MS - spentMs));
    }
}
