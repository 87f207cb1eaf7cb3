package io.kuasar.e2e;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatusRequest;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs one busybox pod through containerd's CRI on a runtime handler (default {@code kuasar-runc}), prints what it
 * said and which per-pod helper processes exist for it, then removes it. Exits 1 when the Kuasar handler's pod has
 * a containerd-shim or a pause process after all. Usage: {@code Demo [handler]} (scripts/demo.sh).
 */
public final class Demo {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Pattern PID = Pattern.compile("\"pid\"\\s*:\\s*(\\d+)");

    private Demo() {
    }

    public static void main(String[] args) throws IOException {
        String handler = args.length > 0 ? args[0] : NodeEnv.KUASAR_HANDLER;
        NodeEnv env = NodeEnv.fromEnvironment();
        Path logDir = Files.createTempDirectory("kuasar-demo-");
        String runTag = "demo-" + UUID.randomUUID().toString().substring(0, 8);
        boolean helpersFound;
        try (CriClient cri = new CriClient(env.containerdSock())) {
            PodSandboxConfig pod = CriClient.podConfig("demo", "kuasar-demo", logDir, env.cgroupParent(), runTag);
            long t0 = System.nanoTime();
            String podId = cri.runPod(pod, handler);
            System.out.printf("pod %s is up on handler '%s' (%d ms)%n", podId, handler, millisSince(t0));
            try {
                String id = cri.runContainer(podId, pod, CriClient.containerConfig("greeter", env.busyboxImage(),
                        "sh", "-c", "echo \"Hello from $(hostname), running as $(id)\"; exec sleep 3600"));
                cri.waitForState(id, ContainerState.CONTAINER_RUNNING, WAIT);
                System.out.printf("container %s is running (%d ms after RunPodSandbox)%n", id, millisSince(t0));
                String log = cri.waitForLog(id, "Hello from", WAIT);
                System.out.println("its log (" + cri.containerStatus(id).getLogPath() + "):");
                log.lines().forEach(l -> System.out.println("    " + l));
                helpersFound = reportHelpers(podId);
                reportParent(cri, id, handler);
            } finally {
                cri.removePod(podId);
                System.out.println("pod " + podId + " stopped and removed");
            }
        } finally {
            deleteQuietly(logDir);
        }
        if (helpersFound && handler.equals(NodeEnv.KUASAR_HANDLER)) {
            System.out.println("UNEXPECTED: a '" + handler + "' pod should need neither a shim nor a pause process");
            System.exit(1);
        }
    }

    /** Prints the pod's containerd-shim and pause processes; true when there is any. */
    private static boolean reportHelpers(String podId) {
        List<Processes.Proc> shims = Processes.shimsOf(podId);
        List<Processes.Proc> pauses = Processes.pausesOf(podId);
        System.out.println("containerd-shim processes for this pod: " + (shims.isEmpty() ? "none" : shims.size()));
        shims.forEach(p -> System.out.println("    " + p));
        System.out.println("pause processes for this pod: " + (pauses.isEmpty() ? "none" : pauses.size()));
        pauses.forEach(p -> System.out.println("    " + p));
        return !shims.isEmpty() || !pauses.isEmpty();
    }

    /** Shows who reaps the container's init: the shim for the stock handler, our host side for Kuasar. */
    private static void reportParent(CriClient cri, String containerId, String handler) {
        String info = cri.runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(containerId)
                .setVerbose(true).build()).getInfoMap().getOrDefault("info", "");
        Matcher m = PID.matcher(info);
        if (!m.find()) {
            return;
        }
        if (handler.equals("kuasar-vmm")) { // the guest's pid: the host has no process of that number for it
            System.out.println("container init: pid " + m.group(1) + " in the pod's VM (the guest kernel's, reaped"
                    + " by the guest agent; the host runs only QEMU for this pod)");
            return;
        }
        Processes.Proc init = Processes.of(Long.parseLong(m.group(1)));
        Processes.Proc parent = init == null ? null : Processes.of(init.ppid());
        if (init != null) {
            System.out.println("container init: " + init);
            System.out.println("its parent:     " + (parent == null ? init.ppid() + " (gone)" : parent));
        }
    }

    private static long millisSince(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    private static void deleteQuietly(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temp dir left behind is harmless
        }
    }
}
