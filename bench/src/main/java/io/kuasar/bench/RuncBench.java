package io.kuasar.bench;

import io.kuasar.e2e.CriClient;
import io.kuasar.e2e.NodeEnv;
import io.kuasar.bench.PodStartBench.Pss;
import io.kuasar.bench.PodStartBench.Stats;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Issue 4's side-by-side benchmark of the stock {@code runc} handler (containerd's runc shim + pause per pod) and
 * {@code kuasar-runc} in one containerd, busybox {@code sleep} pods on the CNI bridge:
 * <ul>
 * <li>P2: {@code parallel} pods started at once, total wall time, repeated {@code rounds} times per handler;
 * <li>P1: {@code pods} pods per handler started serially, alternating handlers so both see the same noise;
 * <li>memory against pod count (every 10 pods): stock = PSS of its shims and pauses, ours = growth of the node's
 * PSS (keeper + JVM) over its level before the first pod; P3 is that at {@code pods} pods divided by the count, P4
 * the node's whole PSS then;
 * <li>pod removal (StopPodSandbox + RemovePodSandbox) of all pods, serially, per handler.
 * </ul>
 * Prints tables, writes bench/results/runc-vs-stock.txt and two PNG charts (start-time CDF, memory by pod count).
 */
public final class RuncBench {
    private static final List<String> HANDLERS = List.of(NodeEnv.STOCK_HANDLER, NodeEnv.KUASAR_HANDLER);
    /** The other order, so neither handler always goes first. */
    private static final List<String> REVERSED = List.of(NodeEnv.KUASAR_HANDLER, NodeEnv.STOCK_HANDLER);

    private final NodeEnv env = NodeEnv.fromEnvironment();
    private final CriClient cri;
    private final Path logs;
    private final String run = "rbench-" + Instant.now().getEpochSecond();
    private int podNumber;
    /** Per handler, the seconds of each CRI call of the serial starts: RunPodSandbox, CreateContainer, Start. */
    private final Map<String, List<double[]>> phases = new LinkedHashMap<>();
    private volatile boolean recordPhases;

    private RuncBench(CriClient cri) throws Exception {
        this.cri = cri;
        this.logs = Files.createTempDirectory("kuasar-rbench");
    }

    public static void main(String[] args) throws Exception {
        int pods = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        int parallel = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        try (CriClient cri = new CriClient(NodeEnv.fromEnvironment().containerdSock())) {
            new RuncBench(cri).runAll(pods, parallel, rounds);
        }
    }

    private void runAll(int pods, int parallel, int rounds) throws Exception {
        for (String h : HANDLERS) { // class loading, image unpacking, first shim start: not measured
            removeAll(List.of(startPod(h)));
        }
        Map<String, List<Double>> parallelWall = parallelStarts(parallel, rounds);
        long nodePid = Long.parseLong(Files.readString(env.nodeDir().resolve("kuasar.pid")).trim());
        long nodeBefore = Pss.ofNode(nodePid);
        Map<String, List<Double>> serial = new LinkedHashMap<>();
        Map<String, List<String>> running = new LinkedHashMap<>();
        HANDLERS.forEach(h -> { serial.put(h, new ArrayList<>()); running.put(h, new ArrayList<>()); });
        List<double[]> stockMemory = new ArrayList<>(List.of(new double[] {0, 0}));
        List<double[]> ourMemory = new ArrayList<>(List.of(new double[] {0, 0}));
        long nodeAtEnd = nodeBefore;
        Map<String, Double> removal = new LinkedHashMap<>();
        recordPhases = true;
        try {
            for (int i = 1; i <= pods; i++) {
                for (String h : i % 2 == 0 ? HANDLERS : REVERSED) {
                    long t0 = System.nanoTime();
                    running.get(h).add(startPod(h));
                    serial.get(h).add((System.nanoTime() - t0) / 1e9);
                }
                if (i % 10 == 0 || i == pods) {
                    Thread.sleep(1_000); // let the last pods settle before reading memory
                    long stockKb = 0;
                    for (String podId : running.get(NodeEnv.STOCK_HANDLER)) {
                        stockKb += PodStartBench.outsideNodePss(NodeEnv.STOCK_HANDLER, podId);
                    }
                    nodeAtEnd = Pss.ofNode(nodePid);
                    stockMemory.add(new double[] {i, stockKb / 1024.0});
                    ourMemory.add(new double[] {i, Math.max(0, nodeAtEnd - nodeBefore) / 1024.0});
                }
            }
            recordPhases = false;
            for (String h : HANDLERS) {
                long t0 = System.nanoTime();
                removeAll(running.get(h));
                removal.put(h, (System.nanoTime() - t0) / 1e9);
                running.get(h).clear();
            }
        } finally {
            running.values().forEach(this::removeAll);
        }
        String table = report(pods, parallel, rounds, parallelWall, serial, stockMemory, ourMemory, nodeBefore,
                nodeAtEnd, removal) + phaseReport();
        System.out.print(table);
        Path out = env.repo().resolve("bench/results");
        Files.createDirectories(out);
        Files.writeString(out.resolve("runc-vs-stock.txt"), "# " + Instant.now() + "\n" + table);
        LineChart cdf = new LineChart("Pod start (runp + create + start), " + pods + " pods each, serial",
                "seconds", "fraction of pods started").steps();
        serial.forEach((h, s) -> cdf.series(h, LineChart.cdf(s)));
        cdf.write(out.resolve("runc-start-cdf.png"));
        new LineChart("Runtime memory added by running pods (PSS)", "pods running per handler", "MiB")
                .series("runc (shims + pauses)", stockMemory).series("kuasar-runc (node growth)", ourMemory)
                .write(out.resolve("runc-memory.png"));
    }

    /** {@code parallel} pods of one handler started at once, wall time per round; handlers alternate by round. */
    private Map<String, List<Double>> parallelStarts(int parallel, int rounds) throws Exception {
        Map<String, List<Double>> wall = new LinkedHashMap<>();
        HANDLERS.forEach(h -> wall.put(h, new ArrayList<>()));
        ExecutorService pool = Executors.newFixedThreadPool(parallel);
        try {
            for (int r = 0; r < rounds; r++) {
                for (String h : r % 2 == 0 ? HANDLERS : REVERSED) {
                    List<Future<String>> started = new ArrayList<>();
                    long t0 = System.nanoTime();
                    for (int i = 0; i < parallel; i++) {
                        started.add(pool.submit(() -> startPod(h)));
                    }
                    List<String> ids = new ArrayList<>();
                    for (Future<String> f : started) {
                        ids.add(f.get());
                    }
                    wall.get(h).add((System.nanoTime() - t0) / 1e9);
                    removeAll(ids);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        return wall;
    }

    private String startPod(String handler) {
        int n;
        synchronized (this) {
            n = ++podNumber;
        }
        PodSandboxConfig pod = CriClient.podConfig("rb" + n + "-" + handler, "rb" + n, logs.resolve("p" + n),
                env.cgroupParent(), run);
        long t0 = System.nanoTime();
        String podId = cri.runPod(pod, handler);
        long t1 = System.nanoTime();
        String id = cri.createContainer(podId, pod, CriClient.containerConfig("sleeper", env.busyboxImage(), "sleep",
                "3600"));
        long t2 = System.nanoTime();
        cri.startContainer(id);
        long t3 = System.nanoTime();
        if (recordPhases) {
            synchronized (phases) {
                phases.computeIfAbsent(handler, h -> new ArrayList<>())
                        .add(new double[] {(t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9});
            }
        }
        return podId;
    }

    private void removeAll(List<String> podIds) {
        podIds.forEach(cri::removePod);
    }

    /** Where P1's time goes: the median of each CRI call per handler. */
    private String phaseReport() {
        StringBuilder b = new StringBuilder("P1 by CRI call, median s: handler, RunPodSandbox, CreateContainer,"
                + " StartContainer\n");
        for (Map.Entry<String, List<double[]>> e : phases.entrySet()) {
            b.append(String.format("  %-12s", e.getKey()));
            for (int i = 0; i < 3; i++) {
                final int phase = i;
                b.append(String.format(" %8.3f", Stats.of(e.getValue().stream().map(v -> v[phase]).toList()).median()));
            }
            b.append('\n');
        }
        return b.toString();
    }

    private static String report(int pods, int parallel, int rounds, Map<String, List<Double>> parallelWall,
                                 Map<String, List<Double>> serial, List<double[]> stockMemory,
                                 List<double[]> ourMemory, long nodeBefore, long nodeAtEnd,
                                 Map<String, Double> removal) {
        StringBuilder b = new StringBuilder();
        Stats stockSerial = Stats.of(serial.get(NodeEnv.STOCK_HANDLER));
        Stats ourSerial = Stats.of(serial.get(NodeEnv.KUASAR_HANDLER));
        b.append(String.format("P1 serial pod start, %d pods per handler (s)%n", pods));
        b.append(String.format("%-12s %8s %8s%n", "handler", "median", "p90"));
        b.append(String.format("%-12s %8.3f %8.3f%n", "runc", stockSerial.median(), stockSerial.p90()));
        b.append(String.format("%-12s %8.3f %8.3f%n", "kuasar-runc", ourSerial.median(), ourSerial.p90()));
        b.append(String.format("ratio kuasar-runc / runc: median %.2f, p90 %.2f (goal <= 0.50)%n",
                ourSerial.median() / stockSerial.median(), ourSerial.p90() / stockSerial.p90()));
        Stats stockPar = Stats.of(parallelWall.get(NodeEnv.STOCK_HANDLER));
        Stats ourPar = Stats.of(parallelWall.get(NodeEnv.KUASAR_HANDLER));
        b.append(String.format("P2 %d pods in parallel, wall time over %d rounds (s)%n", parallel, rounds));
        b.append(String.format("%-12s %8.3f %8.3f%n", "runc", stockPar.median(), stockPar.p90()));
        b.append(String.format("%-12s %8.3f %8.3f%n", "kuasar-runc", ourPar.median(), ourPar.p90()));
        b.append(String.format("ratio kuasar-runc / runc: median %.2f (goal <= 0.50)%n",
                ourPar.median() / stockPar.median()));
        double stockPerPod = stockMemory.get(stockMemory.size() - 1)[1] * 1024 / pods;
        double ourPerPod = ourMemory.get(ourMemory.size() - 1)[1] * 1024 / pods;
        b.append(String.format("P3 runtime memory added per pod at %d pods (PSS, KiB)%n", pods));
        b.append(String.format("%-12s %10.0f  shim + pause per pod%n", "runc", stockPerPod));
        b.append(String.format("%-12s %10.0f  node growth / pods%n", "kuasar-runc", ourPerPod));
        b.append(String.format("ratio kuasar-runc / runc: %.4f (goal <= 0.01)%n", ourPerPod / stockPerPod));
        b.append(String.format("P4 node PSS (keeper + JVM): %.1f MiB before the first pod, %.1f MiB with %d pods"
                + " (goal <= 64 MiB)%n", nodeBefore / 1024.0, nodeAtEnd / 1024.0, pods));
        b.append("memory by pod count (MiB): pods, runc, kuasar-runc growth\n");
        for (int i = 0; i < stockMemory.size(); i++) {
            b.append(String.format("  %3.0f %8.1f %8.2f%n", stockMemory.get(i)[0], stockMemory.get(i)[1],
                    ourMemory.get(i)[1]));
        }
        b.append(String.format("pod removal (stop + remove, serial), %d pods: runc %.2f s (%.3f s/pod), kuasar-runc"
                + " %.2f s (%.3f s/pod), ratio %.2f%n", pods, removal.get(NodeEnv.STOCK_HANDLER),
                removal.get(NodeEnv.STOCK_HANDLER) / pods, removal.get(NodeEnv.KUASAR_HANDLER),
                removal.get(NodeEnv.KUASAR_HANDLER) / pods,
                removal.get(NodeEnv.KUASAR_HANDLER) / removal.get(NodeEnv.STOCK_HANDLER)));
        return b.toString();
    }
}
