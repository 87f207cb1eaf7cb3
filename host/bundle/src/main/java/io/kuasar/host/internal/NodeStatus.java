package io.kuasar.host.internal;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.osgi.framework.Bundle;

/**
 * The lines of {@code kuasar status}: the node (version, pid, uptime), where its metrics are, its keeper, its link
 * to containerd (the events client, containerd's latest call), pods per driver and the drivers. Each line starts with
 * its subject, so a script (and the e2e test) can pick the one it wants.
 */
final class NodeStatus {
    private final Bundle host;
    private final Router router;
    private final DriverBundles bundles;
    private final NodeMetrics metrics;
    private final MetricsServer metricsServer;
    private final KeeperStats keeper;

    NodeStatus(Bundle host, Router router, DriverBundles bundles, NodeMetrics metrics, MetricsServer metricsServer,
               KeeperStats keeper) {
        this.host = host;
        this.router = router;
        this.bundles = bundles;
        this.metrics = metrics;
        this.metricsServer = metricsServer;
        this.keeper = keeper;
    }

    List<String> lines() {
        Instant now = Instant.now();
        List<String> lines = new ArrayList<>();
        long uptimeMs = ManagementFactory.getRuntimeMXBean().getUptime();
        Instant since = Instant.ofEpochMilli(ManagementFactory.getRuntimeMXBean().getStartTime());
        lines.add("node: " + host.getSymbolicName() + " " + host.getVersion() + ", pid " + ProcessHandle.current().pid()
                + ", up " + duration(Duration.ofMillis(uptimeMs)) + " (since " + since.truncatedTo(ChronoUnit.SECONDS)
                + ")");
        lines.add("metrics: " + metricsServer.describe());
        lines.add(keeperLine());
        lines.add(eventsLine(now));
        NodeMetrics.LastCall call = metrics.lastCall();
        lines.add(call == null ? "containerd calls: none since the node started"
                : "containerd calls: last " + ago(call.at(), now) + ": " + call.api().name().toLowerCase(
                        java.util.Locale.ROOT) + " " + call.method() + " " + call.code());
        Map<String, Integer> pods = new TreeMap<>();
        router.knownSandboxers().forEach(name -> pods.put(name, 0));
        router.owners().values().forEach(name -> pods.merge(name, 1, Integer::sum));
        StringBuilder p = new StringBuilder("pods: " + pods.values().stream().mapToInt(Integer::intValue).sum());
        pods.forEach((name, n) -> p.append(", ").append(name).append(' ').append(n));
        lines.add(p.toString());
        lines.add("drivers:");
        bundles.drivers().forEach(l -> lines.add("  " + l));
        return lines;
    }

    private String keeperLine() {
        if (!keeper.present()) {
            return "keeper: none (the node runs without kuasar-keeper: its pods' task connections end with its JVM)";
        }
        String pid = keeper.pid().map(String::valueOf).orElse("unknown");
        String counts = keeper.read().map(c -> "JVM restarts " + c.restarts() + ", replayed requests "
                + c.replayedRequests()).orElse("no counts written (a keeper older than this node?)");
        return "keeper: running, pid " + pid + ", dir " + keeper.dir() + ", " + counts;
    }

    private String eventsLine(Instant now) {
        NodeMetrics.EventsLink link = metrics.eventsLink();
        if (link == null) {
            return "containerd events: no event sent yet (the client connects on the first)";
        }
        if (link.problem() == null) {
            return "containerd events: connected to " + link.address() + ", last event taken " + ago(link.at(), now);
        }
        return "containerd events: NOT connected to " + link.address() + " (" + ago(link.at(), now) + ": "
                + link.problem() + "; retrying)";
    }

    private static String ago(Instant then, Instant now) {
        return duration(Duration.between(then, now)) + " ago";
    }

    /** {@code 3d 04:05:06}, {@code 04:05:06}. */
    static String duration(Duration d) {
        long s = Math.max(0, d.toSeconds());
        String hms = String.format("%02d:%02d:%02d", (s / 3600) % 24, (s / 60) % 60, s % 60);
        return s >= 86400 ? (s / 86400) + "d " + hms : hms;
    }
}
