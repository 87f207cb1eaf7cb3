package io.kuasar.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The driver-upgrade benchmark's arithmetic and table: unavailable windows from probe answers around each upgrade,
 * baseline gaps, the node log's "left" to "serves" times, and the printed report.
 */
final class UpgradeReport {
    private UpgradeReport() {
    }

    private static final Pattern LOG_TIME = Pattern.compile("^(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3})Z ");

    /** A handover one sandbox at a time: the longest any sandbox's calls waited is that upgrade's gap. */
    private static final Pattern HANDED = Pattern.compile("a sandbox's calls waited at most (\\d+) ms");

    /**
     * Per upgrade, how long calls could not be served, from the node log: milliseconds from each "driver for
     * sandboxer(s) [NAME] left" to the next "driver ... serves [NAME]"; or, where the sandboxes were handed over one
     * at a time (no "left" line), the longest wait of one sandbox's calls that its "serves" line gives.
     */
    static List<Double> nodeLogGaps(Path log, long offset, String name) throws IOException {
        List<Double> gaps = new ArrayList<>();
        byte[] tail;
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            tail = new byte[(int) Math.max(0, f.length() - offset)];
            f.seek(offset);
            f.readFully(tail);
        }
        LocalDateTime left = null;
        for (String line : new String(tail, StandardCharsets.UTF_8).split("\n")) {
            Matcher m = LOG_TIME.matcher(line);
            if (!m.find()) {
                continue;
            }
            LocalDateTime at = LocalDateTime.parse(m.group(1));
            Matcher handed = HANDED.matcher(line);
            if (line.contains(" serves " + name) && handed.find()) {
                gaps.add(Double.parseDouble(handed.group(1)));
                left = null;
            } else if (line.contains("driver for sandboxer(s) " + name) && line.contains(" left")) {
                left = at;
            } else if (left != null && line.contains(" serves " + name)) {
                gaps.add(Duration.between(left, at).toNanos() / 1e6);
                left = null;
            }
        }
        return gaps;
    }

    private static final Pattern HELD_BACK = Pattern.compile("long calls held back (\\d+) ms");

    /**
     * The node log's "long calls held back N ms" of this driver's "serves" lines: upgrades whose leaving instance found
     * no quiet moment held long calls (lifecycle, Exec, Start...) at the gate from then on while it answered brief ones,
     * so those calls waited that long, from before "left". One line for the report.
     */
    static String heldBack(Path log, long offset, String name, int upgrades) throws IOException {
        List<Double> held = new ArrayList<>();
        for (String line : Files.readString(log, StandardCharsets.ISO_8859_1).substring((int) offset).split("\n")) {
            Matcher m = HELD_BACK.matcher(line);
            if (line.contains(" serves " + name) && m.find()) {
                held.add(Double.parseDouble(m.group(1)));
            }
        }
        return String.format("long calls held back at the gate (no quiet moment; brief calls served on): %d of %d "
                + "upgrades%s%n", held.size(), upgrades, held.isEmpty() ? ""
                : String.format(", median %.0f / max %.0f ms", median(held), max(held)));
    }

    /** Per upgrade: the longest gap between consecutive successful answers with the later after s, the earlier before e. */
    static List<Double> windows(List<double[]> answers, List<double[]> upgrades) {
        List<Double> out = new ArrayList<>();
        for (double[] u : upgrades) {
            double worst = Double.NaN;
            for (int k = 0; k + 1 < answers.size(); k++) {
                double a = answers.get(k)[1];
                double b = answers.get(k + 1)[1];
                if (b > u[0] && a < u[1]) {
                    worst = Double.isNaN(worst) ? b - a : Math.max(worst, b - a);
                }
            }
            out.add(worst);
        }
        return out;
    }

    /** Gaps between consecutive answers that touch no upgrade (with 200 ms margins): the loop's normal cadence. */
    static List<Double> baselineGaps(List<double[]> answers, List<double[]> upgrades) {
        List<Double> out = new ArrayList<>();
        for (int k = 0; k + 1 < answers.size(); k++) {
            double a = answers.get(k)[1];
            double b = answers.get(k + 1)[1];
            boolean near = false;
            for (double[] u : upgrades) {
                if (b > u[0] - 200 && a < u[1] + 200) {
                    near = true;
                    break;
                }
            }
            if (!near) {
                out.add(b - a);
            }
        }
        return out;
    }

    /** Per upgrade: the longest latency of a successful probe that was in flight at some time during [s, e]. */
    static List<Double> inFlight(List<double[]> answers, List<double[]> upgrades) {
        List<Double> out = new ArrayList<>();
        for (double[] u : upgrades) {
            double worst = 0;
            for (double[] a : answers) {
                if (a[1] > u[0] && a[0] < u[1]) {
                    worst = Math.max(worst, a[1] - a[0]);
                }
            }
            out.add(worst);
        }
        return out;
    }

    static String report(UpgradeTarget target, int pods, int upgrades, double podStartS, List<double[]> upgradeTimes, DriverUpgradeBench.ProbeLog stats,
                         DriverUpgradeBench.ProbeLog exec, List<Double> nodeGaps, List<Double> churnCycles, int churned,
                         ConcurrentLinkedQueue<DriverUpgradeBench.Failure> failures, NodeFootprint before, NodeFootprint after,
                         String driversBefore, String driversAfter, String statsCheck) {
        List<double[]> sa = stats.snapshot();
        List<double[]> ea = exec.snapshot();
        List<Double> statsWin = windows(sa, upgradeTimes);
        List<Double> execWin = windows(ea, upgradeTimes);
        List<Double> statsFlight = inFlight(sa, upgradeTimes);
        List<Double> execFlight = inFlight(ea, upgradeTimes);
        List<Double> cmd = upgradeTimes.stream().map(u -> u[1] - u[0]).toList();
        StringBuilder b = new StringBuilder();
        String task = target.exec() ? "ExecSync 'true' (Task Exec/Start/Wait)" : "ContainerStats (Task Stats)";
        b.append(String.format("driver upgrade under load: %d %s pods (a sleeping container each, started in %.1f s), "
                + "%d upgrades of driver %s in a row (admin socket, alternating repacks 0.1.101 / 0.1.102, "
                + "%d ms apart)%n", pods, target.handler(), podStartS, upgrades, target.sandboxer(),
                DriverUpgradeBench.SETTLE_BETWEEN_UPGRADES_MS));
        b.append("while: a churn loop (RunPodSandbox+Create+Start+Stop+Remove) and two probe loops on a rotating "
                + "running pod, 10 ms between answer and next request: PodSandboxStatus (Controller Status) and "
                + task + "; 'task' columns below are the second\n");
        b.append("window = longest gap between consecutive successful probe answers spanning the upgrade command "
                + "[sent, answered]; in-flight = longest latency of a probe in flight during the command; "
                + "node log = 'left' -> 'serves' in kuasar.log, or, where sandboxes were handed over one at a time, the longest "
                + "wait of one sandbox's calls\n\n");
        b.append(String.format("%-3s %9s %9s %9s %9s %9s %9s%n", "#", "cmd ms", "node ms", "stat win", "stat lat",
                "task win", "task lat"));
        for (int i = 0; i < upgradeTimes.size(); i++) {
            b.append(String.format("%-3d %9.0f %9s %9.0f %9.0f %9.0f %9.0f%n", i + 1, cmd.get(i),
                    i < nodeGaps.size() ? String.format("%.0f", nodeGaps.get(i)) : "-", statsWin.get(i),
                    statsFlight.get(i), execWin.get(i), execFlight.get(i)));
        }
        b.append(String.format("%-3s %9.0f %9s %9.0f %9.0f %9.0f %9.0f%n", "med", median(cmd),
                nodeGaps.isEmpty() ? "-" : String.format("%.0f", median(nodeGaps)), median(statsWin),
                median(statsFlight), median(execWin), median(execFlight)));
        b.append(String.format("%-3s %9.0f %9s %9.0f %9.0f %9.0f %9.0f%n", "max", max(cmd),
                nodeGaps.isEmpty() ? "-" : String.format("%.0f", max(nodeGaps)), max(statsWin), max(statsFlight),
                max(execWin), max(execFlight)));
        List<Double> sb = baselineGaps(sa, upgradeTimes);
        List<Double> eb = baselineGaps(ea, upgradeTimes);
        b.append(String.format("baseline gap away from upgrades: status median %.0f ms, p99 %.0f, max %.0f "
                + "(%d answers); task median %.0f ms, p99 %.0f, max %.0f (%d answers)%n", median(sb), pct(sb, 0.99),
                max(sb), sa.size(), median(eb), pct(eb, 0.99), max(eb), ea.size()));
        b.append(String.format("node log 'left'->'serves' pairs found: %d of %d upgrades%n", nodeGaps.size(), upgrades));
        b.append(String.format("churn: %d pod cycles completed, cycle median %.0f ms, max %.0f ms%n%n", churned,
                median(churnCycles), max(churnCycles)));

        b.append(String.format("ContainerStats (Task Stats), one call before the upgrades: %s%n%n", statsCheck));
        b.append(String.format("failed requests: %d (status probes %d, task probes %d)%n", failures.size(),
                stats.failures, exec.failures));
        Map<String, Integer> kinds = new TreeMap<>();
        for (DriverUpgradeBench.Failure f : failures) {
            // Grouped by kind: container/exec ids and pids replaced, so one cause is one line.
            String key = (f.loop() + " " + f.call().replaceAll(" [0-9a-f]{12}$", "") + ": " + f.error())
                    .replaceAll("[0-9a-f]{64}", "<id>").replaceAll("pid [0-9]+", "pid <n>");
            kinds.merge(key.length() > 300 ? key.substring(0, 300) : key, 1, Integer::sum);
        }
        kinds.forEach((k, n) -> b.append(String.format("  %4d x %s%n", n, k)));
        int shown = 0;
        for (DriverUpgradeBench.Failure f : failures) {
            if (shown++ >= 10) {
                break;
            }
            b.append(String.format("  at %.0f ms: %s %s%n", f.atMs(), f.loop(), f.call()));
        }

        b.append(String.format("%nleaks (before the pods vs after removing all; node JVM pid %d -> %d):%n",
                before.jvmPid(), after.jvmPid()));
        b.append(String.format("%-44s %8s %8s %8s%n", "", "before", "after", "leaked"));
        row(b, "node JVM file descriptors", before.fds(), after.fds());
        row(b, "mounts under the node dir", before.mounts(), after.mounts());
        row(b, "cgroup dirs under the pods' parent (all hier.)", before.cgroupDirs(), after.cgroupDirs());
        row(b, "processes (keeper tree + pod cgroups)", before.processes(), after.processes());
        row(b, "zombies among them", before.zombies(), after.zombies());
        row(b, "node JVM threads (info)", before.threads(), after.threads());
        StringBuilder grown = new StringBuilder();
        after.threadNames().forEach((name, n) -> {
            int was = before.threadNames().getOrDefault(name, 0);
            if (n > was) {
                grown.append(String.format(" %s +%d (%d->%d);", name, n - was, was, n));
            }
        });
        if (grown.length() > 0) {
            b.append("  thread names that grew:").append(grown).append('\n');
        }
        if (after.processes() > before.processes()) {
            b.append("processes after:\n");
            after.processLines().forEach(l -> b.append("  ").append(l).append('\n'));
        }
        b.append("\ndrivers before: ").append(driversBefore.strip().replace('\n', ';')).append('\n');
        b.append("drivers after:  ").append(driversAfter.strip().replace('\n', ';')).append('\n');
        return b.toString();
    }

    static void row(StringBuilder b, String what, int before, int after) {
        b.append(String.format("%-44s %8d %8d %8d%n", what, before, after, after - before));
    }

    static double median(List<Double> xs) {
        return pct(xs, 0.5);
    }

    static double pct(List<Double> xs, double q) {
        List<Double> s = xs.stream().filter(d -> !d.isNaN()).sorted().toList();
        if (s.isEmpty()) {
            return Double.NaN;
        }
        return s.get(Math.min(s.size() - 1, Math.max(0, (int) Math.ceil(q * s.size()) - 1)));
    }

    static double max(List<Double> xs) {
        return xs.stream().filter(d -> !d.isNaN()).mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }
}
