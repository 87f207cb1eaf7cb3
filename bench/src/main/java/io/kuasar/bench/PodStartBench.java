package io.kuasar.bench;

import io.kuasar.e2e.CriClient;
import io.kuasar.e2e.NodeEnv;
import io.kuasar.e2e.Processes;
import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Serial pod start (RunPodSandbox + CreateContainer + StartContainer of a busybox {@code sleep}) for a list of CRI
 * handlers (default the stock {@code runc} and {@code kuasar-runc}; {@code kuasar-runsc} too), side by side in one
 * containerd, alternating handlers so all see the same machine noise; then the runtime memory each adds per pod
 * for the pods left running (PSS from smaps_rollup):
 * <ul>
 * <li>stock {@code runc}: the pod's shim and pause processes;
 * <li>{@code kuasar-*}: the node's growth (keeper + JVM) over all kuasar pods, shared out evenly between them (one
 * node serves every kuasar handler; its growth per pod cannot be told apart by handler while they alternate);
 * <li>{@code kuasar-runsc} in addition: the pod's gVisor host processes (runsc sandbox, gofers, the platform's stub
 * processes, the {@code runsc wait} helper of each running container), which live outside the node.
 * </ul>
 * Prints a table, writes it to bench/results/pod-start.txt.
 */
public final class PodStartBench {
    static final String RUNSC_HANDLER = "kuasar-runsc";

    private PodStartBench() {
    }

    public static void main(String[] args) throws Exception {
        int pods = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        List<String> handlers = args.length > 1 && !args[1].isBlank()
                ? Arrays.stream(args[1].split(",")).map(String::trim).filter(s -> !s.isEmpty()).distinct().toList()
                : List.of(NodeEnv.STOCK_HANDLER, NodeEnv.KUASAR_HANDLER);
        NodeEnv env = NodeEnv.fromEnvironment();
        Map<String, List<Double>> seconds = new LinkedHashMap<>();
        Map<String, List<String>> podIds = new LinkedHashMap<>();
        handlers.forEach(h -> { seconds.put(h, new ArrayList<>()); podIds.put(h, new ArrayList<>()); });
        Path logs = Files.createTempDirectory("kuasar-bench");
        String run = "bench-" + Instant.now().getEpochSecond();
        long nodePid = Long.parseLong(Files.readString(env.nodeDir().resolve("kuasar.pid")).trim());
        try (CriClient cri = new CriClient(env.containerdSock())) {
            warmUp(cri, env, logs, run, handlers);
            long nodeBefore = Pss.ofNode(nodePid);
            try {
                measure(pods, handlers, env, cri, logs, run, nodePid, nodeBefore, seconds, podIds);
            } finally {
                for (List<String> ids : podIds.values()) {
                    ids.forEach(cri::removePod);
                }
            }
        }
    }

    private static void measure(int pods, List<String> handlers, NodeEnv env, CriClient cri, Path logs, String run,
                                long nodePid, long nodeBefore, Map<String, List<Double>> seconds,
                                Map<String, List<String>> podIds) throws IOException, InterruptedException {
        for (int i = 0; i < pods; i++) {
            for (String handler : handlers) {
                PodSandboxConfig pod = CriClient.podConfig("b" + i + "-" + handler, "b" + i, logs.resolve(handler + i),
                        env.cgroupParent(), run);
                ContainerConfig sleeper = CriClient.containerConfig("sleeper", env.busyboxImage(), "sleep", "3600");
                long t0 = System.nanoTime();
                String podId = cri.runPod(pod, handler);
                cri.runContainer(podId, pod, sleeper);
                seconds.get(handler).add((System.nanoTime() - t0) / 1e9);
                podIds.get(handler).add(podId);
            }
        }
        Thread.sleep(2_000); // let the last pods settle (gVisor finishes booting after Start returns)
        long nodeAfter = Pss.ofNode(nodePid);
        long kuasarPods = handlers.stream().filter(h -> !h.equals(NodeEnv.STOCK_HANDLER)).count() * pods;
        long nodeGrowthPerPod = kuasarPods == 0 ? 0 : (nodeAfter - nodeBefore) / kuasarPods;
        Map<String, Memory> memory = new LinkedHashMap<>();
        for (String handler : handlers) {
            long outside = 0;
            for (String podId : podIds.get(handler)) {
                outside += outsideNodePss(handler, podId);
            }
            long own = outside / pods;
            memory.put(handler, handler.equals(NodeEnv.STOCK_HANDLER) ? new Memory(own, 0)
                    : new Memory(own, nodeGrowthPerPod));
        }
        String table = report(pods, seconds, memory, nodeAfter);
        if (podIds.containsKey(RUNSC_HANDLER)) {
            table += runscBreakdown(podIds.get(RUNSC_HANDLER));
        }
        System.out.print(table);
        Path out = env.repo().resolve("bench/results");
        Files.createDirectories(out);
        Files.writeString(out.resolve("pod-start.txt"), "# " + Instant.now() + "\n" + table);
    }

    /** PSS (KiB) of a pod's runtime processes outside the node: shim+pause (stock), gVisor's (kuasar-runsc). */
    static long outsideNodePss(String handler, String podId) {
        long kb = 0;
        if (handler.equals(NodeEnv.STOCK_HANDLER)) {
            for (Processes.Proc p : Processes.shimsOf(podId)) {
                kb += Pss.ofPid(p.pid());
            }
            for (Processes.Proc p : Processes.pausesOf(podId)) {
                kb += Pss.ofPid(p.pid());
            }
        } else if (handler.equals(RUNSC_HANDLER)) {
            for (long pid : gvisorProcesses(podId)) {
                kb += Pss.ofPid(pid);
            }
        }
        return kb;
    }

    /**
     * The host processes of a kuasar-runsc pod: those whose argv names the pod (its private runsc root: the
     * sandbox, the gofers, the runsc wait helpers), their descendants (the platform's stubs, which have no argv of
     * their own) and every process in the sessions of the sandbox and gofers.
     */
    static Set<Long> gvisorProcesses(String podId) {
        List<Processes.Proc> all = Processes.snapshot();
        Set<Long> family = new HashSet<>();
        for (Processes.Proc p : all) {
            if (p.argvMentions("/pods/" + podId + "/root")) {
                family.add(p.pid());
            }
        }
        boolean grew = !family.isEmpty();
        while (grew) {
            grew = false;
            for (Processes.Proc p : all) {
                if (!family.contains(p.pid()) && family.contains(p.ppid())) {
                    grew |= family.add(p.pid());
                }
            }
        }
        Set<Long> sessions = new HashSet<>();
        for (Processes.Proc p : all) {
            if (family.contains(p.pid()) && !p.argv().isEmpty() && p.argv().get(0).startsWith("runsc-")) {
                sessions.add(session(p.pid()));
            }
        }
        for (Processes.Proc p : all) {
            if (!sessions.isEmpty() && sessions.contains(session(p.pid()))) {
                family.add(p.pid());
            }
        }
        return family;
    }

    /** PSS per kuasar-runsc pod by kind of gVisor process, and how much of it is private (USS). */
    static String runscBreakdown(List<String> podIds) {
        Map<String, long[]> kinds = new LinkedHashMap<>();
        for (String k : List.of("runsc-sandbox", "runsc-gofer", "stubs", "runsc wait")) {
            kinds.put(k, new long[3]);
        }
        for (String podId : podIds) {
            for (long pid : gvisorProcesses(podId)) {
                Processes.Proc p = Processes.of(pid);
                if (p == null) {
                    continue;
                }
                String kind = p.argv().isEmpty() || p.argv().get(0).startsWith("[") ? "stubs"
                        : p.argv().get(0).startsWith("runsc-sandbox") ? "runsc-sandbox"
                        : p.argv().get(0).startsWith("runsc-gofer") ? "runsc-gofer"
                        : p.argv().contains("wait") ? "runsc wait" : "stubs";
                long[] k = kinds.get(kind);
                k[0]++;
                k[1] += Pss.ofPid(pid);
                k[2] += Pss.field(pid, "Private_Clean:") + Pss.field(pid, "Private_Dirty:");
            }
        }
        StringBuilder b = new StringBuilder(String.format("kuasar-runsc own PSS per pod by process (KiB):"));
        long pods = Math.max(1, podIds.size());
        for (Map.Entry<String, long[]> e : kinds.entrySet()) {
            long[] k = e.getValue();
            b.append(String.format(" %s %.1f x %d (private %d)", e.getKey(), k[0] / (double) pods, k[1] / pods,
                    k[2] / pods)).append(';');
        }
        b.setLength(b.length() - 1);
        return b.append(System.lineSeparator()).toString();
    }

    private static long session(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[3]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** One pod start per handler first, so class loading, image unpacking and gVisor's probe are not measured. */
    private static void warmUp(CriClient cri, NodeEnv env, Path logs, String run, List<String> handlers) {
        for (String handler : handlers) {
            PodSandboxConfig pod = CriClient.podConfig("warm-" + handler, "warm", logs.resolve("warm-" + handler),
                    env.cgroupParent(), run);
            String id = cri.runPod(pod, handler);
            cri.runContainer(id, pod, CriClient.containerConfig("w", env.busyboxImage(), "true"));
            cri.removePod(id);
        }
    }

    /** PSS per pod (KiB): of its own processes outside the node, and its share of the node's growth. */
    record Memory(long ownKb, long nodeShareKb) {
        long total() {
            return ownKb + nodeShareKb;
        }
    }

    static String report(int pods, Map<String, List<Double>> seconds, Map<String, Memory> memory, long nodePss) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("pod start, %d pods serially per handler (runp+create+start, busybox sleep)%n", pods));
        b.append(String.format("%-12s %10s %10s %10s%n", "handler", "median s", "p90 s", "mean s"));
        for (Map.Entry<String, List<Double>> e : seconds.entrySet()) {
            Stats s = Stats.of(e.getValue());
            b.append(String.format("%-12s %10.3f %10.3f %10.3f%n", e.getKey(), s.median(), s.p90(), s.mean()));
        }
        List<Double> stockSample = seconds.get(NodeEnv.STOCK_HANDLER);
        if (stockSample != null) {
            Stats stock = Stats.of(stockSample);
            for (String h : seconds.keySet()) {
                if (!h.equals(NodeEnv.STOCK_HANDLER)) {
                    Stats ours = Stats.of(seconds.get(h));
                    b.append(String.format("ratio %s / runc: median %.2f, p90 %.2f%n", h, ours.median() / stock.median(),
                            ours.p90() / stock.p90()));
                }
            }
        }
        b.append(String.format("runtime memory per pod (PSS, KiB)%n"));
        b.append(String.format("%-12s %10s %12s %10s  %s%n", "handler", "own", "node share", "total", "own = "));
        for (Map.Entry<String, Memory> e : memory.entrySet()) {
            String own = switch (e.getKey()) {
                case NodeEnv.STOCK_HANDLER -> "shim + pause";
                case RUNSC_HANDLER -> "gVisor sandbox, gofers, stubs, runsc wait";
                default -> "none (containers only)";
            };
            Memory m = e.getValue();
            b.append(String.format("%-12s %10d %12d %10d  %s%n", e.getKey(), m.ownKb(), m.nodeShareKb(), m.total(), own));
        }
        Memory stockMem = memory.get(NodeEnv.STOCK_HANDLER);
        if (stockMem != null && stockMem.total() > 0) {
            for (Map.Entry<String, Memory> e : memory.entrySet()) {
                if (!e.getKey().equals(NodeEnv.STOCK_HANDLER)) {
                    b.append(String.format("ratio %s / runc: PSS per pod %.2f%n", e.getKey(),
                            (double) e.getValue().total() / stockMem.total()));
                }
            }
        }
        long kuasarPods = pods * memory.keySet().stream().filter(h -> !h.equals(NodeEnv.STOCK_HANDLER)).count();
        b.append(String.format("kuasar node PSS (keeper + JVM) with %d pods running: %.1f MiB%n", kuasarPods,
                nodePss / 1024.0));
        return b.toString();
    }

    /** Median, 90th percentile and mean of a sample. */
    record Stats(double median, double p90, double mean) {
        static Stats of(List<Double> sample) {
            List<Double> sorted = sample.stream().sorted().toList();
            double mean = sorted.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
            return new Stats(at(sorted, 0.5), at(sorted, 0.9), mean);
        }

        private static double at(List<Double> sorted, double q) {
            return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
        }
    }

    /** Proportional set size, in KiB, from /proc/PID/smaps_rollup (0 if it is gone). */
    static final class Pss {
        static long ofPid(long pid) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
                    if (line.startsWith("Pss:")) {
                        return Long.parseLong(line.replaceAll("[^0-9]", ""));
                    }
                }
            } catch (IOException e) {
                return 0;
            }
            return 0;
        }

        /** A field of /proc/PID/smaps_rollup in KiB (0 if it is gone). */
        static long field(long pid, String name) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
                    if (line.startsWith(name)) {
                        return Long.parseLong(line.replaceAll("[^0-9]", ""));
                    }
                }
            } catch (IOException e) {
                return 0;
            }
            return 0;
        }

        /**
         * The node: the process in kuasar.pid (the keeper, or the JVM when it runs without one) and its java
         * children (the JVM the keeper runs).
         */
        static long ofNode(long pid) {
            long kb = ofPid(pid);
            for (Processes.Proc p : Processes.matching(p -> p.ppid() == pid && p.comm().equals("java"))) {
                kb += ofPid(p.pid());
            }
            return kb;
        }
    }
}
