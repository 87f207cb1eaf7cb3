package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.DaemonThreads;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskState;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * What a driver instance holds for each running VM pod: the watch on its QEMU process, the agent connection, and on
 * that connection the output and input pumps, the exit watches and the port mirror. An instance takes a pod up when
 * its VM boots, or attaches to it again after a restart ({@code recover}) or a handover ({@code adopt}); it lets go
 * of it at a handover ({@code release}) or when it stops, and from then on touches nothing of it.
 */
final class VmAttachments {
    private static final Logger LOG = System.getLogger(VmAttachments.class.getName());
    /** How long a recovered pod's agent may take to accept the new instance's connection. */
    private static final Duration REATTACH_TIMEOUT = Duration.ofSeconds(60);
    /**
     * How long letting go waits for a reattach in progress, then for the pumps to end once the connection is closed
     * (a pump writing a chunk records its offset before the successor reads it). Only a pump blocked on a FIFO that
     * nobody reads takes that long.
     */
    private static final Duration LET_GO_WAIT = Duration.ofSeconds(2);

    /** What becomes of a pod whose VM ended by itself (the driver's). */
    @FunctionalInterface
    interface VmEnd {
        void gone(VmPod pod, long pid);
    }

    private final Vmm vmm;
    private final Function<VmPod, VmTasks> tasks;
    private final VmEnd vmEnd;
    /** Where the pods' port mirrors apply forwards (QMP calls block); ends with this instance. */
    private final ScheduledExecutorService portWork = Executors.newSingleThreadScheduledExecutor(
            DaemonThreads.named("kuasar-vmm-ports"));

    VmAttachments(Vmm vmm, Function<VmPod, VmTasks> tasks, VmEnd vmEnd) {
        this.vmm = vmm;
        this.tasks = tasks;
        this.vmEnd = vmEnd;
    }

    /** A pod whose VM just booted (its agent connected): its VM is watched, its ports mirrored. */
    void booted(VmPod pod) {
        watchVm(pod);
        PortMirror.start(pod, vmm, portWork);
    }

    /** A VM that ends by itself (crash, kill) takes its containers with it: they are recorded as exited. */
    private void watchVm(VmPod pod) {
        long pid = pod.pid;
        ProcessHandle.of(pid).ifPresentOrElse(h -> {
            CompletableFuture<ProcessHandle> exit = h.onExit();
            pod.vmExit = exit;
            exit.thenRun(() -> vmEnd.gone(pod, pid));
        }, () -> vmEnd.gone(pod, pid));
    }

    /**
     * Reconnects to a running VM's agent and resumes watching its processes, in the background: at a restart the
     * predecessor may still hold its connection, and QEMU serves one connection per socket, so this one waits its
     * turn (task calls meanwhile wait for it, see VmTasks). A VM that is gone, or whose agent never answers, ends
     * the pod.
     */
    void reattach(VmPod pod) {
        if (!vmm.isRunning(pod.pid, pod.dir)) {
            vmEnd.gone(pod, pod.pid);
            return;
        }
        watchVm(pod);
        pod.reattaching = CompletableFuture.runAsync(() -> { // own thread: the common pool may be busy with the template
            try {
                AgentClient a = AgentClient.connectReady(instance(pod), REATTACH_TIMEOUT, Duration.ofMillis(1500),
                        vmm.channels());
                synchronized (pod) {
                    if (!pod.released()) {
                        pod.agent = a;
                    }
                }
                if (pod.agent != a) {
                    a.closeAndWait(); // let go of meanwhile: the successor connects once this is closed
                    return;
                }
                PortMirror.start(pod, vmm, portWork);
                VmTasks t = tasks.apply(pod);
                for (VmContainer c : pod.containerList()) {
                    for (VmProcess p : processes(c)) {
                        if (watchAgain(c, p)) {
                            t.watch(c, p);
                        }
                    }
                }
                LOG.log(Level.INFO, "vmm: reattached to sandbox " + pod.id + " (QEMU " + pod.pid + ")");
            } catch (IOException | SandboxException | RuntimeException e) {
                pod.whileHeld(() -> {
                    synchronized (pod) {
                        if (pod.state != SandboxStatus.State.READY) {
                            return false; // a stop ended the VM under the reconnect: nothing is amiss
                        }
                    }
                    LOG.log(Level.WARNING, "vmm: cannot reach the agent of sandbox " + pod.id + "; ending its VM", e);
                    stop(pod, Duration.ofSeconds(1)); // a VM nobody can drive any more would only hold memory
                    vmEnd.gone(pod, pod.pid);
                    return true;
                });
            }
        }, r -> DaemonThreads.named("kuasar-vmm-reattach-" + pod.id.substring(0, Math.min(12, pod.id.length())))
                .newThread(r).start());
    }

    /**
     * A process to watch again after a reconnect: one still running, or one whose exit is known but whose output
     * was not all delivered yet (its streams' holder still runs: containerd waits for their EOF).
     */
    private static boolean watchAgain(VmContainer c, VmProcess p) {
        return (p.exit() == null && p.status() == TaskState.Status.RUNNING)
                || OutputPumps.isHolder(p.holderPid, OutputPumps.marker(c.id, p.execId));
    }

    private static List<VmProcess> processes(VmContainer c) {
        List<VmProcess> all = new ArrayList<>(c.execs.values());
        all.add(0, c.init);
        return all;
    }

    /** Closes the agent connection and stops the VM: a polite quit, then SIGKILL after {@code grace}. */
    void stop(VmPod pod, Duration grace) {
        AgentClient a = pod.agent;
        pod.agent = null;
        if (a != null) {
            a.close();
        }
        if (pod.pid > 0 && vmm.isRunning(pod.pid, pod.dir)) {
            vmm.stop(instance(pod), grace);
        }
    }

    /**
     * Lets go of a pod, which keeps running: no callback of this instance changes it from now on, its VM is no
     * longer watched, its input copiers stop without closing any stdin, and its agent connection is closed once no
     * reattach is under way (QEMU serves one connection per agent socket: the successor's connects only after ours
     * is closed), which ends the exit watches, the port mirror and the output pumps (leaving the stream holders).
     */
    void letGo(VmPod pod) {
        pod.release();
        CompletableFuture<ProcessHandle> vmExit = pod.vmExit;
        if (vmExit != null) {
            vmExit.cancel(false); // drops our callback: the JDK's watch on the pid holds nothing of this instance
        }
        List<VmProcess> all = new ArrayList<>();
        pod.containerList().forEach(c -> all.addAll(processes(c)));
        all.forEach(VmProcess::stopInput);
        long deadline = System.nanoTime() + LET_GO_WAIT.toNanos();
        awaitQuietly(pod.reattaching, deadline); // a reattach that connects after this closes its connection itself
        AgentClient a;
        synchronized (pod) {
            a = pod.agent;
            pod.agent = null;
        }
        if (a != null) {
            a.closeAndWait();
        }
        deadline = System.nanoTime() + LET_GO_WAIT.toNanos();
        for (VmProcess p : all) {
            if (!awaitQuietly(p.output, deadline)) {
                LOG.log(Level.WARNING, "vmm: an output pump of sandbox " + pod.id + " is still writing (nobody reads"
                        + " its FIFO?); the next instance may deliver its last chunk again");
                break;
            }
        }
    }

    /** False when {@code stage} did not complete by {@code deadline} (System.nanoTime). */
    private static boolean awaitQuietly(CompletionStage<?> stage, long deadline) {
        if (stage == null) {
            return true;
        }
        try {
            stage.toCompletableFuture().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (ExecutionException | java.util.concurrent.CancellationException ended) {
            // ended all the same
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        return true;
    }

    private static Vmm.VmInstance instance(VmPod pod) {
        return new Vmm.VmInstance(pod.pid, pod.dir.resolve("qmp.sock"), pod.dir.resolve("agent.sock"),
                pod.dir.resolve("console.log"));
    }

    /** Ends the port mirrors' thread, once every pod was let go of or removed. */
    void close() {
        portWork.shutdownNow();
    }
}
