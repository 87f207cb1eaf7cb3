package io.kuasar.bench;

import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerStatsRequest;
import io.kuasar.api.cri.v1.ExecSyncRequest;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.PodSandboxStatusRequest;
import io.kuasar.api.cri.v1.RemovePodSandboxRequest;
import io.kuasar.api.cri.v1.StopPodSandboxRequest;
import io.kuasar.e2e.CriClient;
import io.kuasar.e2e.DriverJars;
import io.kuasar.e2e.NodeEnv;
import io.kuasar.host.admin.AdminClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Driver upgrades under load (issues 3 and 14): PODS pods of one driver ({@link UpgradeTarget}: runc, runsc,
 * wasmedge or vmm) run; that driver is upgraded UPGRADES times in a row through the admin socket (the CLI's own
 * client, {@link AdminClient}), alternating two repacks of the node's driver jar with other Bundle-Versions;
 * meanwhile one loop creates and deletes pods (RunPodSandbox, CreateContainer, StartContainer, StopPodSandbox,
 * RemovePodSandbox), one probes the running pods with PodSandboxStatus (Controller Status, every 10 ms after the
 * previous answer, rotating pod) and one with a Task call: ExecSync {@code true}, or ContainerStats where the
 * technology has no exec (Wasm).
 *
 * <p><b>Unavailable window</b> of an upgrade, per probe loop: let [s, e] be the upgrade command's send and answer
 * times; the window is the longest interval between two consecutive successful probe answers (answer times, client
 * side) where the later answer comes after s and the earlier one before e. Between upgrades the same gaps are the
 * loop's normal cadence (probe latency + 10 ms), reported as the baseline. The node log gives a third view: time
 * from "driver ... left" to "driver ... serves" of each upgrade.
 *
 * <p><b>Leaks</b>: {@link NodeFootprint} after a warm-up pod, before the pods start, against after every pod is
 * removed (retried for up to 15 s while it settles).
 */
public final class DriverUpgradeBench {
    static final long PROBE_PERIOD_MS = 10;
    static final long SETTLE_BETWEEN_UPGRADES_MS = 1500;

    private DriverUpgradeBench() {
    }

    /** One failed request: which loop, which call, when (ms since start), the error. */
    record Failure(String loop, String call, double atMs, String error) {
    }

    /** Successful probe answers (ms since start) and latencies of one probe loop. */
    static final class ProbeLog {
        final String name;
        final List<double[]> answers = new ArrayList<>(); // {sentMs, answeredMs}
        int failures;

        ProbeLog(String name) {
            this.name = name;
        }

        synchronized void ok(double sent, double answered) {
            answers.add(new double[] {sent, answered});
        }

        synchronized List<double[]> snapshot() {
            return new ArrayList<>(answers);
        }
    }

    /** Arguments: [DRIVER=runc] [PODS] [UPGRADES] [NODE_JAR]; PODS and UPGRADES default per driver. */
    public static void main(String[] args) throws Exception {
        UpgradeTarget target = UpgradeTarget.named(arg(args, 0, "runc"));
        int pods = Integer.parseInt(arg(args, 1, String.valueOf(target.pods())));
        int upgrades = Integer.parseInt(arg(args, 2, String.valueOf(target.upgrades())));
        NodeEnv env = NodeEnv.fromEnvironment();
        Path nodeJar = Path.of(arg(args, 3, env.repo().resolve("host/target/kuasar.jar").toString()));
        Path adminSocket = env.kuasarRunDir().resolve("admin.sock");
        Path work = env.nodeDir().resolve("bench-upgrade");
        Files.createDirectories(work);
        Path logs = work.resolve("logs");
        Files.createDirectories(logs);
        String run = "upg-" + Instant.now().getEpochSecond();
        long t0 = System.nanoTime();
        String loadStart = Files.readString(Path.of("/proc/loadavg")).strip();

        // Two versions of the driver the node runs, repacked with other Bundle-Versions.
        String name = "driver-" + target.sandboxer();
        Path driver = extractDriver(nodeJar, target.bundleJar(), work.resolve(name + "-node.jar"));
        Path[] versions = {work.resolve(name + "-0.1.101.jar"), work.resolve(name + "-0.1.102.jar")};
        DriverJars.repack(driver, versions[0], "0.1.101"); // signed again with the build's key, as a release
        DriverJars.repack(driver, versions[1], "0.1.102");

        ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
        List<String> podIds = new ArrayList<>();
        List<String> containerIds = new ArrayList<>();
        StringBuilder out = new StringBuilder();
        try (CriClient setup = new CriClient(env.containerdSock());
             CriClient churnCri = new CriClient(env.containerdSock());
             CriClient statsCri = new CriClient(env.containerdSock());
             CriClient execCri = new CriClient(env.containerdSock())) {
            // Warm-up: image unpacked, classes loaded, then the baseline footprint.
            for (int i = 0; i < 2; i++) {
                PodSandboxConfig warm = CriClient.podConfig("warm" + i, "warm", logs.resolve("warm" + i),
                        env.cgroupParent(), run);
                String id = setup.runPod(warm, target.handler());
                setup.runContainer(id, warm, target.quick("w", env));
                setup.removePod(id);
            }
            Thread.sleep(1000);
            NodeFootprint before = NodeFootprint.take(env);
            String versionBefore = admin(adminSocket, "drivers");
            System.out.printf("baseline: node JVM %d: %d fds, %d threads, %d mounts, %d cgroup dirs, %d processes%n",
                    before.jvmPid(), before.fds(), before.threads(), before.mounts(), before.cgroupDirs(),
                    before.processes());

            long startPods = System.nanoTime();
            for (int i = 0; i < pods; i++) {
                PodSandboxConfig pod = CriClient.podConfig("up" + i, "up" + i, logs.resolve("up" + i),
                        env.cgroupParent(), run);
                String id = setup.runPod(pod, target.handler());
                podIds.add(id);
                containerIds.add(setup.runContainer(id, pod, target.sleeper("sleeper", env)));
            }
            double podStartS = (System.nanoTime() - startPods) / 1e9;
            System.out.printf("%d pods running after %.1f s%n", pods, podStartS);

            AtomicBoolean stop = new AtomicBoolean();
            String statsCheck = containerStatsCheck(setup, containerIds.get(0));
            ProbeLog stats = new ProbeLog("PodSandboxStatus");
            ProbeLog exec = new ProbeLog(target.exec() ? "ExecSync" : "ContainerStats");
            List<Double> churnCycles = new ArrayList<>();
            int[] churned = {0};
            Thread statsLoop = new Thread(() -> probeLoop(stats, stop, podIds, t0, failures, id -> {
                var st = statsCri.runtime(Duration.ofSeconds(30)).podSandboxStatus(
                        PodSandboxStatusRequest.newBuilder().setPodSandboxId(id).build()).getStatus();
                return st.getState().getNumber() == 0 ? null : "pod state " + st.getState();
            }), "probe-status");
            Thread execLoop = new Thread(() -> probeLoop(exec, stop, containerIds, t0, failures, id -> {
                if (!target.exec()) {
                    var r = execCri.runtime(Duration.ofSeconds(30)).containerStats(
                            ContainerStatsRequest.newBuilder().setContainerId(id).build());
                    return r.hasStats() ? null : "no stats";
                }
                ExecSyncResponse r = execCri.runtime(Duration.ofSeconds(30)).execSync(ExecSyncRequest.newBuilder()
                        .setContainerId(id).addCmd("true").setTimeout(20).build());
                return r.getExitCode() == 0 ? null : "exit code " + r.getExitCode();
            }), "probe-task");
            Thread churnLoop = new Thread(() -> churn(churnCri, env, target, logs, run, stop, t0, failures,
                    churnCycles, churned), "churn");
            statsLoop.start();
            execLoop.start();
            churnLoop.start();
            Thread.sleep(3000); // baseline cadence before the first upgrade

            long logOffset = Files.size(env.nodeDir().resolve("kuasar.log"));
            List<double[]> upgradeTimes = new ArrayList<>();
            for (int i = 0; i < upgrades; i++) {
                Path jar = versions[i % 2];
                double s = ms(t0);
                String answer;
                try {
                    answer = admin(adminSocket, "upgrade", target.sandboxer(), jar.toAbsolutePath().toString());
                } catch (IOException e) {
                    answer = "FAILED " + e.getMessage();
                    failures.add(new Failure("upgrade", "admin upgrade", s, e.getMessage()));
                }
                double e = ms(t0);
                upgradeTimes.add(new double[] {s, e});
                System.out.printf("upgrade %2d -> %s: %.0f ms: %s%n", i + 1, jar.getFileName(), e - s, answer.strip());
                Thread.sleep(SETTLE_BETWEEN_UPGRADES_MS);
            }
            Thread.sleep(1500);
            stop.set(true);
            churnLoop.join(120_000);
            statsLoop.join(60_000);
            execLoop.join(60_000);
            String versionAfter = admin(adminSocket, "drivers");
            List<Double> nodeGaps = UpgradeReport.nodeLogGaps(env.nodeDir().resolve("kuasar.log"), logOffset,
                    target.logName());

            // Remove every pod of the run (ours, the churn's, any left by a failure), then the footprint.
            for (String id : podIds) {
                try {
                    setup.removePod(id);
                } catch (StatusRuntimeException e) {
                    failures.add(new Failure("teardown", "remove pod", ms(t0), e.getStatus().toString()));
                }
            }
            for (var p : setup.podsOfRun(run)) {
                failures.add(new Failure("teardown", "leftover pod", ms(t0), p.getId() + " " + p.getState()));
                setup.removePod(p.getId());
            }
            NodeFootprint after = NodeFootprint.take(env);
            for (int i = 0; i < 30 && !noWorse(after, before); i++) {
                Thread.sleep(500);
                after = NodeFootprint.take(env);
            }

            String table = UpgradeReport.report(target, pods, upgrades, podStartS, upgradeTimes, stats, exec, nodeGaps, churnCycles,
                    churned[0], failures, before, after, versionBefore, versionAfter, statsCheck);
            table += UpgradeReport.heldBack(env.nodeDir().resolve("kuasar.log"), logOffset, target.logName(), upgrades);
            table += String.format("%nmachine: %d CPUs, shared with other engineers' builds and test runs during this "
                    + "run (figures include their noise); loadavg at start %s, at end %s%n"
                    + "command: KUASAR_NODE_DIR=%s KUASAR_CGROUP_PARENT=%s bench/driver-upgrade.sh %s %d %d%n",
                    Runtime.getRuntime().availableProcessors(), loadStart,
                    Files.readString(Path.of("/proc/loadavg")).strip(), env.nodeDir(), env.cgroupParent(),
                    target.sandboxer(), pods, upgrades);
            out.append(table);
        }
        System.out.print(out);
        Path results = env.repo().resolve("bench/results");
        Files.createDirectories(results);
        Files.writeString(results.resolve("driver-upgrade-" + target.sandboxer() + ".txt"),
                "# " + Instant.now() + "\n" + out);
    }

    private static boolean noWorse(NodeFootprint a, NodeFootprint b) {
        return a.fds() <= b.fds() && a.mounts() <= b.mounts() && a.cgroupDirs() <= b.cgroupDirs()
                && a.processes() <= b.processes() && a.zombies() <= b.zombies();
    }

    interface Probe {
        /** Null when the answer is good, else what was wrong with it. */
        String call(String containerId);
    }

    private static void probeLoop(ProbeLog log, AtomicBoolean stop, List<String> containers, long t0,
                                  ConcurrentLinkedQueue<Failure> failures, Probe probe) {
        int k = 0;
        while (!stop.get()) {
            String id = containers.get(k++ % containers.size());
            double sent = ms(t0);
            try {
                String bad = probe.call(id);
                if (bad == null) {
                    log.ok(sent, ms(t0));
                } else {
                    log.failures++;
                    failures.add(new Failure(log.name, log.name + " " + id.substring(0, 12), sent, bad));
                }
            } catch (StatusRuntimeException e) {
                log.failures++;
                failures.add(new Failure(log.name, log.name + " " + id.substring(0, 12), sent, e.getStatus().toString()));
            }
            sleep(PROBE_PERIOD_MS);
        }
    }

    private static void churn(CriClient cri, NodeEnv env, UpgradeTarget target, Path logs, String run,
                              AtomicBoolean stop, long t0, ConcurrentLinkedQueue<Failure> failures,
                              List<Double> cycles, int[] count) {
        int i = 0;
        while (!stop.get()) {
            PodSandboxConfig pod = CriClient.podConfig("churn" + i, "churn" + i, logs.resolve("churn" + i),
                    env.cgroupParent(), run);
            ContainerConfig c = target.sleeper("c", env);
            i++;
            double start = ms(t0);
            String podId = null;
            String step = "RunPodSandbox";
            try {
                podId = cri.runPod(pod, target.handler());
                step = "CreateContainer";
                String cid = cri.createContainer(podId, pod, c);
                step = "StartContainer";
                cri.startContainer(cid);
                step = "StopPodSandbox";
                cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
                step = "RemovePodSandbox";
                cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
                synchronized (cycles) {
                    cycles.add(ms(t0) - start);
                }
                count[0]++;
            } catch (StatusRuntimeException e) {
                failures.add(new Failure("churn", step, ms(t0), e.getStatus().toString()));
                if (podId != null) {
                    try {
                        cri.removePod(podId);
                    } catch (StatusRuntimeException again) {
                        failures.add(new Failure("churn", "cleanup remove", ms(t0), again.getStatus().toString()));
                    }
                }
            }
        }
    }

    /** ContainerStats is not a probe: it fails on this node (reported, not counted). */
    static String containerStatsCheck(CriClient cri, String containerId) {
        try {
            var r = cri.runtime(Duration.ofSeconds(10)).containerStats(
                    ContainerStatsRequest.newBuilder().setContainerId(containerId).build());
            return "ok, cpu " + r.getStats().getCpu().getUsageCoreNanoSeconds().getValue() + " ns";
        } catch (StatusRuntimeException e) {
            return "FAILS: " + e.getStatus();
        }
    }

    /** One admin request through the CLI's client; its output, or IOException with its error. */
    static String admin(Path socket, String... command) throws IOException {
        String[] args = new String[command.length + 2];
        args[0] = AdminClient.SOCKET_OPTION;
        args[1] = socket.toString();
        System.arraycopy(command, 0, args, 2, command.length);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int rc;
        try (PrintStream po = new PrintStream(o, true, StandardCharsets.UTF_8);
             PrintStream pe = new PrintStream(e, true, StandardCharsets.UTF_8)) {
            rc = AdminClient.run(args, po, pe, System.getenv());
        }
        if (rc != 0) {
            throw new IOException(String.join(" ", command) + ": exit " + rc + ": " + e.toString(StandardCharsets.UTF_8).strip());
        }
        return o.toString(StandardCharsets.UTF_8);
    }

    /** A driver bundle embedded in the node's jar (bnd export: {@code jar/<bundleJar>-*.jar}). */
    static Path extractDriver(Path nodeJar, String bundleJar, Path target) throws IOException {
        try (JarFile jar = new JarFile(nodeJar.toFile())) {
            Enumeration<JarEntry> entries = jar.entries();
            while (entries.hasMoreElements()) {
                JarEntry e = entries.nextElement();
                if (e.getName().matches("jar/" + bundleJar + "-[0-9][^/]*\\.jar")) {
                    try (InputStream in = jar.getInputStream(e)) {
                        Files.copy(in, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    }
                    return target;
                }
            }
        }
        throw new IOException("no jar/" + bundleJar + "-*.jar in " + nodeJar);
    }

    /** Argument {@code i}, or {@code fallback} when it is missing or empty. */
    private static String arg(String[] args, int i, String fallback) {
        return args.length > i && !args[i].isEmpty() ? args[i] : fallback;
    }

    private static double ms(long t0) {
        return (System.nanoTime() - t0) / 1e6;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
