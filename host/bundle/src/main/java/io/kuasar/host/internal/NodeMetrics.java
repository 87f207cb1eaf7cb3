package io.kuasar.host.internal;

import io.kuasar.host.ContainerdObserver;
import io.kuasar.spi.SandboxStatus;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.instrumentation.jvm.JvmGarbageCollectorMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmMemoryMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmRuntimeInfoMetric;
import io.prometheus.metrics.instrumentation.jvm.JvmThreadsMetrics;
import io.prometheus.metrics.instrumentation.jvm.ProcessMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The node's metrics, in one Prometheus registry of its own (never the client's static default one: a bundle
 * restarted would register twice): containerd's calls as the endpoint answered them, sandboxes and drivers as the
 * router knows them at scrape time, driver lifecycle events, the keeper's restarts and replays, and the JVM's memory,
 * threads and GC. Served by {@link MetricsServer}; every metric is listed in docs/operating.md.
 */
@Component(service = {NodeMetrics.class, ContainerdObserver.class})
public class NodeMetrics implements ContainerdObserver {
    /** Driver lifecycle events, the {@code event} label of {@code kuasar_driver_events_total}. */
    enum DriverEvent {
        INSTALLED, UPGRADED, ROLLED_BACK, REMOVED, REFUSED;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** From a local create (ms) to a VM boot without KVM (tens of s). */
    private static final double[] CALL_SECONDS = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Histogram calls;
    private final Counter driverEvents;
    private final Counter forwards;
    private volatile LastCall lastCall;
    private volatile EventsLink eventsLink;

    /** containerd's latest call, for {@code kuasar status}. */
    record LastCall(java.time.Instant at, Api api, String method, String code) {
    }

    /** The events client's latest attempt: {@code problem} null when containerd took the event. */
    record EventsLink(java.time.Instant at, String address, String problem) {
    }

    @Activate
    public NodeMetrics(@Reference Router router, BundleContext context) {
        this(router, context, KeeperStats.of(KeeperExitRecords.keeperDir(
                context.getProperty(KeeperExitRecords.KEEPER_DIR_PROPERTY),
                System.getenv(KeeperExitRecords.KEEPER_DIR_ENV))));
    }

    NodeMetrics(Router router, BundleContext context, KeeperStats keeper) {
        calls = Histogram.builder().name("kuasar_call_duration_seconds")
                .help("containerd's calls on the node by API (controller: gRPC sandbox Controller, task: ttrpc Task"
                        + " API), method and status code, from arrival to answer")
                .labelNames("api", "method", "code").classicOnly().classicUpperBounds(CALL_SECONDS)
                .withoutExemplars().register(registry);
        driverEvents = Counter.builder().name("kuasar_driver_events_total")
                .help("Driver bundle lifecycle events: installed, upgraded, rolled_back, removed, refused")
                .labelNames("event", "driver").withoutExemplars().register(registry);
        forwards = Counter.builder().name("kuasar_events_forwarded_total")
                .help("Task events sent to containerd's events service (Forward): ok, or failed (retried)")
                .labelNames("result").withoutExemplars().register(registry);
        forwards.labelValues("ok");
        forwards.labelValues("failed");
        for (DriverEvent e : DriverEvent.values()) {
            driverEvents.labelValues(e.label(), ""); // present at 0 from the start: a rate needs its first sample
        }
        GaugeWithCallback.builder().name("kuasar_sandboxes")
                .help("Sandboxes by driver (sandboxer) and state; no_driver: its driver is away (being upgraded)")
                .labelNames("driver", "state")
                .callback(cb -> sandboxCounts(router).forEach((k, n) -> cb.call(n, k.split(" ", 2))))
                .register(registry);
        GaugeWithCallback.builder().name("kuasar_driver_bundles")
                .help("Driver bundles by driver (sandboxer), bundle version and role (serving, standby)")
                .labelNames("driver", "version", "role")
                .callback(cb -> driverBundles(router, context).forEach((k, n) -> cb.call(n, k.split(" ", 3))))
                .register(registry);
        GaugeWithCallback.builder().name("kuasar_keeper_up")
                .help("1 when the node runs under kuasar-keeper (its task sockets outlive the JVM), else 0")
                .callback(cb -> cb.call(keeper.present() ? 1 : 0)).register(registry);
        CounterWithCallback.builder().name("kuasar_keeper_jvm_restarts")
                .help("Times the keeper restarted the node's JVM since the keeper started (its stats file)")
                .callback(cb -> keeper.read().ifPresent(s -> cb.call(s.restarts()))).register(registry);
        CounterWithCallback.builder().name("kuasar_keeper_replayed_requests")
                .help("Task API requests the keeper resent to a restarted JVM since the keeper started")
                .callback(cb -> keeper.read().ifPresent(s -> cb.call(s.replayedRequests()))).register(registry);
        JvmMemoryMetrics.builder().register(registry);
        JvmGarbageCollectorMetrics.builder().register(registry);
        JvmThreadsMetrics.builder().register(registry);
        JvmRuntimeInfoMetric.builder().register(registry);
        ProcessMetrics.builder().register(registry);
    }

    @Override
    public void answered(Api api, String method, String code, long nanos) {
        calls.labelValues(api.name().toLowerCase(java.util.Locale.ROOT), method, code).observe(nanos / 1e9);
        lastCall = new LastCall(java.time.Instant.now(), api, method, code);
    }

    @Override
    public void forwarded(String address, String problem) {
        forwards.labelValues(problem == null ? "ok" : "failed").inc();
        eventsLink = new EventsLink(java.time.Instant.now(), address, problem);
    }

    LastCall lastCall() {
        return lastCall;
    }

    EventsLink eventsLink() {
        return eventsLink;
    }

    /** One lifecycle event; {@code driver} is the sandboxer it concerns, empty when not known (a refused jar). */
    void driverEvent(DriverEvent event, String driver) {
        driverEvents.labelValues(event.label(), driver == null ? "" : driver).inc();
    }

    MetricSnapshots scrape() {
        return registry.scrape();
    }

    /** "driver state" -> count, over every sandbox the router knows, those of an absent driver as no_driver. */
    static Map<String, Integer> sandboxCounts(Router router) {
        Map<String, Integer> counts = new TreeMap<>();
        Map<String, String> owners = router.owners();
        Set<String> answered = new java.util.HashSet<>();
        for (SandboxStatus s : router.sandboxes()) {
            answered.add(s.id());
            counts.merge(s.sandboxer() + " " + s.state().name().toLowerCase(java.util.Locale.ROOT), 1, Integer::sum);
        }
        owners.forEach((id, sandboxer) -> {
            if (!answered.contains(id)) {
                counts.merge(sandboxer + " no_driver", 1, Integer::sum);
            }
        });
        return counts;
    }

    /** "driver version role" -> number of bundles (1, unless one bundle claims a sandboxer twice). */
    private static Map<String, Integer> driverBundles(Router router, BundleContext context) {
        Map<String, Integer> counts = new HashMap<>();
        for (String name : router.knownSandboxers()) {
            DriverTable.Claim serving = router.serving(name);
            for (DriverTable.Claim c : router.claimsOf(name)) {
                Bundle b = context.getBundle(c.bundleId());
                String version = b == null ? "unknown" : b.getVersion().toString();
                counts.merge(name + " " + version + " " + (c == serving ? "serving" : "standby"), 1, Integer::sum);
            }
        }
        return counts;
    }
}
