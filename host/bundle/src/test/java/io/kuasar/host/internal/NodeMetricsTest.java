package io.kuasar.host.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.host.ContainerdObserver;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node's registry: calls, driver events and the keeper's counts as the text format shows them. */
class NodeMetricsTest {
    @TempDir
    Path keeperDir;

    private final Router router = new Router(new EventHub(), Duration.ofMillis(100), Duration.ZERO, Duration.ofMillis(100),
            (a, b) -> { });

    private static String text(NodeMetrics m) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, m.scrape());
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void callsAreCountedByApiMethodAndCodeInTheirLatencyBuckets() throws IOException {
        NodeMetrics m = new NodeMetrics(router, null, KeeperStats.of(null));
        m.answered(ContainerdObserver.Api.CONTROLLER, "Create", "OK", 3_000_000);      // 3 ms
        m.answered(ContainerdObserver.Api.CONTROLLER, "Create", "OK", 2_000_000_000L); // 2 s
        m.answered(ContainerdObserver.Api.TASK, "Kill", "NOT_FOUND", 100_000);
        String t = text(m);
        String create = "kuasar_call_duration_seconds_bucket{api=\"controller\",code=\"OK\",method=\"Create\",le=\"";
        assertTrue(t.contains(create + "0.001\"} 0\n") && t.contains(create + "0.005\"} 1\n")
                && t.contains(create + "2.5\"} 2\n") && t.contains(create + "+Inf\"} 2\n"), t);
        assertTrue(t.contains("kuasar_call_duration_seconds_count{api=\"task\",code=\"NOT_FOUND\",method=\"Kill\"} 1\n"), t);
        assertEquals(ContainerdObserver.Api.TASK, m.lastCall().api());
        assertTrue(t.contains("kuasar_keeper_up 0.0\n") && !t.contains("kuasar_keeper_jvm_restarts_total "), t);
    }

    @Test
    void driverEventsAndTheKeepersCountsAreExposed() throws IOException {
        Files.writeString(keeperDir.resolve("stats"), "jvm_starts 3\nreplayed_requests 7\n");
        NodeMetrics m = new NodeMetrics(router, null, KeeperStats.of(keeperDir));
        m.driverEvent(NodeMetrics.DriverEvent.UPGRADED, "runc");
        m.driverEvent(NodeMetrics.DriverEvent.REFUSED, "");
        m.forwarded("/run/containerd/containerd.sock.ttrpc", "connection refused");
        String t = text(m);
        assertTrue(t.contains("kuasar_driver_events_total{driver=\"runc\",event=\"upgraded\"} 1.0\n"), t);
        assertTrue(t.contains("kuasar_driver_events_total{driver=\"\",event=\"refused\"} 1.0\n"), t);
        assertTrue(t.contains("kuasar_driver_events_total{driver=\"\",event=\"rolled_back\"} 0.0\n"), t);
        assertTrue(t.contains("kuasar_keeper_jvm_restarts_total 2.0\n"), t);
        assertTrue(t.contains("kuasar_keeper_replayed_requests_total 7.0\n"), t);
        assertTrue(t.contains("kuasar_keeper_up 1.0\n"), t);
        assertTrue(t.contains("kuasar_events_forwarded_total{result=\"failed\"} 1.0\n"), t);
        assertTrue(t.contains("jvm_memory_used_bytes{area=\"heap\"} "), t);
        assertEquals("connection refused", m.eventsLink().problem());
    }
}
