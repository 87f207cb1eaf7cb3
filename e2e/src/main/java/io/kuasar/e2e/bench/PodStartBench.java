package io.kuasar.e2e.bench;

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Serial pod start (RunPodSandbox + CreateContainer + StartContainer of a busybox {@code sleep}) for the stock
 * {@code runc} handler and {@code kuasar-runc}, side by side in one containerd, alternating handlers so both see the
 * same machine noise; then the runtime memory each adds for the pods left running (PSS from smaps_rollup): the
 * shims and pause processes for stock, the node's growth for ours. Prints a table, writes it to bench/results.
 */
public final class PodStartBench {
    private PodStartBench() {
    }

    public static void main(String[] args) throws Exception {
        int pods = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        NodeEnv env = NodeEnv.fromEnvironment();
        List<String> handlers = List.of(NodeEnv.STOCK_HANDLER, NodeEnv.KUASAR_HANDLER);
        Map<String, List<Double>> seconds = new LinkedHashMap<>();
        Map<String, List<String>> podIds = new LinkedHashMap<>();
        handlers.forEach(h -> { seconds.put(h, new ArrayList<>()); podIds.put(h, new ArrayList<>()); });
        Path logs = Files.createTempDirectory("kuasar-bench");
        String run = "bench-" + Instant.now().getEpochSecond();
        long nodePid = Long.parseLong(Files.readString(env.nodeDir().resolve("kuasar.pid")).trim());
        try (CriClient cri = new CriClient(env.containerdSock())) {
            warmUp(cri, env, logs, run, handlers);
            long nodeBefore = Pss.ofPid(nodePid);
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
            long nodeAfter = Pss.ofPid(nodePid);
            long stock = 0;
            for (String podId : podIds.get(NodeEnv.STOCK_HANDLER)) {
                for (Processes.Proc p : Processes.shimsOf(podId)) {
                    stock += Pss.ofPid(p.pid());
                }
                for (Processes.Proc p : Processes.pausesOf(podId)) {
                    stock += Pss.ofPid(p.pid());
                }
            }
            String table = report(pods, seconds, stock / pods, (nodeAfter - nodeBefore) / pods, nodeAfter);
            System.out.print(table);
            Path out = env.repo().resolve("bench/results");
            Files.createDirectories(out);
            Files.writeString(out.resolve("pod-start.txt"), "# " + Instant.now() + "\n" + table);
            for (List<String> ids : podIds.values()) {
                ids.forEach(cri::removePod);
            }
        }
    }

    /** One pod per handler first, so class loading and image unpacking are not measured. */
    private static void warmUp(CriClient cri, NodeEnv env, Path logs, String run, List<String> handlers) {
        for (String handler : handlers) {
            PodSandboxConfig pod = CriClient.podConfig("warm-" + handler, "warm", logs.resolve("warm-" + handler),
                    env.cgroupParent(), run);
            String id = cri.runPod(pod, handler);
            cri.runContainer(id, pod, CriClient.containerConfig("w", env.busyboxImage(), "true"));
            cri.removePod(id);
        }
    }

    static String report(int pods, Map<String, List<Double>> seconds, long stockPssPerPod, long nodePssPerPod,
                         long nodePss) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("pod start, %d pods serially per handler (runp+create+start, busybox sleep)%n", pods));
        b.append(String.format("%-12s %10s %10s %10s%n", "handler", "median s", "p90 s", "mean s"));
        for (Map.Entry<String, List<Double>> e : seconds.entrySet()) {
            Stats s = Stats.of(e.getValue());
            b.append(String.format("%-12s %10.3f %10.3f %10.3f%n", e.getKey(), s.median(), s.p90(), s.mean()));
        }
        Stats stock = Stats.of(seconds.get(NodeEnv.STOCK_HANDLER));
        Stats ours = Stats.of(seconds.get(NodeEnv.KUASAR_HANDLER));
        b.append(String.format("ratio kuasar-runc / runc: median %.2f, p90 %.2f%n", ours.median() / stock.median(),
                ours.p90() / stock.p90()));
        b.append(String.format("runtime memory per pod (PSS): stock shim+pause %d KiB, kuasar node growth %d KiB%n",
                stockPssPerPod, nodePssPerPod));
        b.append(String.format("kuasar node PSS with %d pods running: %.1f MiB%n", pods, nodePss / 1024.0));
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

    /** Proportional set size of a process, in KiB, from /proc/PID/smaps_rollup (0 if it is gone). */
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
    }
}
