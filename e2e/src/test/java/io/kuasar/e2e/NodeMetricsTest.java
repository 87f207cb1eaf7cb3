package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerGrpc;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerStartRequest;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.hawkular.agent.prometheus.text.TextPrometheusMetricDataParser;
import org.hawkular.agent.prometheus.types.Counter;
import org.hawkular.agent.prometheus.types.Gauge;
import org.hawkular.agent.prometheus.types.Histogram;
import org.hawkular.agent.prometheus.types.Metric;
import org.hawkular.agent.prometheus.types.MetricFamily;
import org.hawkular.agent.prometheus.types.MetricType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The node's Prometheus metrics, scraped over HTTP where {@code kuasar status} says they are and read with a
 * text-format parser (Hawkular's), checked against what the test just did on the shared node: a runc pod with one
 * container (one more Controller Create and Task Create answered OK, the pod counted READY under runc as the node's
 * own sandbox list has it), a Controller Start of an unknown sandbox (one more NOT_FOUND), an upgrade of the runc
 * driver and its rollback (one more of each event). Differences between two scrapes, since other tests ran before.
 */
class NodeMetricsTest extends CriTestBase {
    private boolean upgraded;

    @AfterEach
    void rollBackIfTheTestStoppedHalfWay() throws Exception {
        if (upgraded) {
            upgraded = false;
            NodeCli.Result r = cli().admin("rollback", "runc");
            assertEquals(0, r.code(), () -> "could not roll the runc driver back after a failure: " + r);
        }
    }

    @Test
    void scrapedValuesFollowAPodAFailedCallAndAnUpgrade() throws Exception {
        URI url = metricsUrl();
        Map<String, MetricFamily> before = scrape(url);

        PodSandboxConfig pod = podConfig("metrics");
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        String id = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
        cri.waitForState(id, ContainerState.CONTAINER_RUNNING, WAIT);
        String missing = "e2e-metrics-" + UUID.randomUUID().toString().substring(0, 8);
        StatusRuntimeException notFound = assertThrows(StatusRuntimeException.class, () -> startUnknown(missing));
        assertEquals(Status.Code.NOT_FOUND, notFound.getStatus().getCode(), notFound::toString);

        Map<String, MetricFamily> after = scrape(url);
        assertEquals(1, calls(after, "controller", "Create", "OK") - calls(before, "controller", "Create", "OK"),
                "Controller Create calls answered OK: one pod");
        assertEquals(1, calls(after, "task", "Create", "OK") - calls(before, "task", "Create", "OK"),
                "Task Create calls answered OK: one container");
        assertEquals(1, calls(after, "controller", "Start", "NOT_FOUND")
                - calls(before, "controller", "Start", "NOT_FOUND"), "Controller Start of an unknown sandbox");
        double ready = value(after, "kuasar_sandboxes", Map.of("driver", "runc", "state", "ready"));
        NodeCli.Result sandboxes = cli().admin("sandboxes");
        long listed = sandboxes.out().lines().filter(l -> l.contains(" runc ") && l.contains(" READY ")).count();
        assertTrue(listed >= 1, sandboxes::toString);
        assertEquals(listed, (long) ready, () -> "runc READY sandboxes: the node's list says\n" + sandboxes);
        assertTrue(value(after, "jvm_memory_used_bytes", Map.of("area", "heap")) > 0, "JVM heap in use");
        assertHistogramsWhole(after.get("kuasar_call_duration_seconds"));

        Path jar = Files.createTempFile(logRoot, "driver-runc-", ".jar");
        DriverJars.repack(DriverJars.builtRuncJar(env.repo()), jar, "0.1.3");
        upgraded = true;
        NodeCli.Result upgrade = cli().admin("upgrade", "runc", jar.toString());
        assertEquals(0, upgrade.code(), upgrade::toString);
        awaitRuncServing("0.1.3");
        NodeCli.Result rollback = cli().admin("rollback", "runc");
        assertEquals(0, rollback.code(), rollback::toString);
        upgraded = false;
        awaitRuncServing("0.1.0");
        Map<String, MetricFamily> last = scrape(url);
        for (String event : List.of("upgraded", "rolled_back")) {
            Map<String, String> labels = Map.of("event", event, "driver", "runc");
            assertEquals(1, value(last, "kuasar_driver_events_total", labels)
                    - value(after, "kuasar_driver_events_total", labels), () -> event + " runc events");
        }
        assertEquals(ready, value(last, "kuasar_sandboxes", Map.of("driver", "runc", "state", "ready")),
                "the pod survived the upgrade and the rollback");
    }

    /** The {@code metrics:} line of {@code kuasar status}, found without naming the socket. */
    private URI metricsUrl() throws IOException, InterruptedException {
        NodeCli.Result status = cli().discovering("status");
        assertEquals(0, status.code(), status::toString);
        String line = status.out().lines().filter(l -> l.startsWith("metrics: ")).findFirst()
                .orElseThrow(() -> new AssertionError("no metrics line in\n" + status));
        assertTrue(line.startsWith("metrics: http://127.0.0.1:"), () -> "a loopback URL: " + line);
        return URI.create(line.substring("metrics: ".length()).trim());
    }

    private static Map<String, MetricFamily> scrape(URI url) throws IOException, InterruptedException {
        HttpResponse<InputStream> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(url)
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"),
                () -> "content type " + r.headers());
        Map<String, MetricFamily> families = new HashMap<>();
        try (InputStream in = r.body()) {
            TextPrometheusMetricDataParser parser = new TextPrometheusMetricDataParser(in);
            for (MetricFamily f; (f = parser.parse()) != null; ) {
                String name = f.getName();
                assertFalse(families.containsKey(name), () -> "family listed twice: " + name);
                families.put(name, f);
            }
        }
        assertTrue(families.containsKey("kuasar_keeper_up"), () -> "the node's own families: " + families.keySet());
        return families;
    }

    /** Count of calls with these labels; 0 when none was made yet (the series does not exist). */
    private static long calls(Map<String, MetricFamily> families, String api, String method, String code) {
        MetricFamily f = families.get("kuasar_call_duration_seconds");
        if (f == null) {
            return 0; // no call answered yet: the family has no series
        }
        assertEquals(MetricType.HISTOGRAM, f.getType());
        return find(f, Map.of("api", api, "method", method, "code", code))
                .map(m -> ((Histogram) m).getSampleCount()).orElse(0L);
    }

    private static double value(Map<String, MetricFamily> families, String name, Map<String, String> labels) {
        MetricFamily f = families.get(name);
        assertTrue(f != null, () -> name + " not scraped: " + families.keySet());
        Metric m = find(f, labels).orElse(null);
        if (m == null) {
            return 0;
        }
        return m instanceof Counter c ? c.getValue() : ((Gauge) m).getValue();
    }

    private static java.util.Optional<Metric> find(MetricFamily f, Map<String, String> labels) {
        return f.getMetrics().stream().filter(m -> m.getLabels().entrySet().containsAll(labels.entrySet())
                && m.getLabels().size() == labels.size()).findFirst();
    }

    /** Every series: buckets never decrease, and the last (+Inf) holds every sample. */
    private static void assertHistogramsWhole(MetricFamily calls) {
        for (Metric m : calls.getMetrics()) {
            Histogram h = (Histogram) m;
            long previous = 0;
            for (Histogram.Bucket b : h.getBuckets()) {
                assertTrue(b.getCumulativeCount() >= previous, () -> "buckets decrease in " + h.getLabels());
                previous = b.getCumulativeCount();
            }
            assertEquals(h.getSampleCount(), previous, () -> "+Inf bucket against the count of " + h.getLabels());
        }
    }

    private void startUnknown(String id) throws InterruptedException {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(env.sandboxerSock().toString()))
                .eventLoopGroup(group).channelType(EpollDomainSocketChannel.class).usePlaintext().build();
        try {
            Metadata headers = new Metadata();
            headers.put(Metadata.Key.of("containerd-namespace", Metadata.ASCII_STRING_MARSHALLER), "k8s.io");
            ControllerGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                    .withDeadlineAfter(20, TimeUnit.SECONDS).start(ControllerStartRequest.newBuilder()
                            .setSandboxId(id).setSandboxer(NodeEnv.KUASAR_SANDBOXER).build());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /** Waits until the serving runc bundle's version starts with {@code version} ({@code drivers}). */
    private void awaitRuncServing(String version) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        NodeCli.Result drivers;
        do {
            drivers = cli().admin("drivers");
            if (drivers.out().lines().map(l -> List.of(l.trim().split("\\s+"))).anyMatch(f -> f.size() == 6
                    && f.get(0).equals("runc") && f.get(4).equals("serving") && f.get(2).startsWith(version))) {
                return;
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("runc " + version + " not serving within 20 s:\n" + drivers);
    }

    private NodeCli cli() {
        return new NodeCli(env, logRoot);
    }
}
