package io.kuasar.host.internal;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * Serves {@link NodeMetrics} in Prometheus's text format at {@code http://<kuasar.metrics.listen>/metrics}: a
 * framework or system property like the node's other settings, {@code HOST:PORT}, {@code unix:/PATH} or {@code off};
 * default {@value #DEFAULT_LISTEN} (loopback: a Prometheus on the node, or a node agent, scrapes it over TCP; nothing
 * off the node reaches it; docs/operating.md says why). A node that cannot bind says so and runs on without metrics.
 */
@Component(service = MetricsServer.class, immediate = true)
public class MetricsServer {
    private static final Logger LOG = System.getLogger(MetricsServer.class.getName());
    static final String LISTEN_PROPERTY = "kuasar.metrics.listen";
    static final String DEFAULT_LISTEN = "127.0.0.1:9469";

    private final MetricsHttp http;
    private final String problem;

    @Activate
    public MetricsServer(@Reference NodeMetrics metrics, BundleContext context) {
        String listen = context.getProperty(LISTEN_PROPERTY);
        listen = listen == null || listen.isBlank() ? DEFAULT_LISTEN : listen;
        MetricsHttp server = null;
        String why = null;
        try {
            SocketAddress address = MetricsHttp.address(listen);
            if (address == null) {
                why = "off (" + LISTEN_PROPERTY + "=off)";
            } else {
                if (address instanceof InetSocketAddress inet && !inet.getAddress().isLoopbackAddress()) {
                    LOG.log(Level.WARNING, "metrics on {0}: not a loopback address, so reachable from off the node",
                            listen);
                }
                server = new MetricsHttp(address, () -> page(metrics));
                LOG.log(Level.INFO, "metrics at {0}/metrics", server.describe());
            }
        } catch (IOException | RuntimeException e) { // an unresolvable host is an unchecked exception of bind
            why = "not served: " + listen + ": " + (e.getMessage() == null ? e.toString() : e.getMessage());
            LOG.log(Level.ERROR, "metrics {0}; the node runs on without them", why);
        }
        this.http = server;
        this.problem = why;
    }

    private static MetricsHttp.Page page(NodeMetrics metrics) {
        PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try {
            writer.write(out, metrics.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new MetricsHttp.Page(writer.getContentType(), out.toByteArray());
    }

    /** Where the metrics are served ({@code http://127.0.0.1:9469/metrics}), or why not. */
    String describe() {
        if (http == null) {
            return problem;
        }
        String where = http.describe();
        return where.startsWith("unix:") ? where + " (GET /metrics)" : "http://" + where + "/metrics";
    }

    @Deactivate
    void close() throws IOException {
        if (http != null) {
            http.close();
        }
    }
}
