package io.kuasar.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.StringValue;
import io.kuasar.ttrpc.MethodHandler;
import io.kuasar.ttrpc.TtrpcClient;
import io.kuasar.ttrpc.TtrpcEventLoops;
import io.kuasar.ttrpc.TtrpcServer;
import io.netty.channel.EventLoopGroup;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.Version;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleWiring;

/**
 * The ttrpc library as the node runs it: bundle {@code io.kuasar.ttrpc} resolves and starts in Felix, exports its
 * API package at 1.0.0 and nothing else (the envelope messages and the frame codec stay inside), and a call made
 * through it from another bundle, this one, goes round trip: its Netty, epoll and protobuf imports are wired.
 */
class TtrpcBundleTest {
    private static final BundleContext CONTEXT = FrameworkUtil.getBundle(TtrpcBundleTest.class).getBundleContext();

    @TempDir
    Path dir; // 0700, as the server requires of a socket's directory

    @Test
    void activeAndExportsOnlyItsApi() {
        Bundle ttrpc = Stream.of(CONTEXT.getBundles()).filter(b -> "io.kuasar.ttrpc".equals(b.getSymbolicName()))
                .findFirst().orElseThrow(() -> new AssertionError("no bundle io.kuasar.ttrpc installed"));
        assertEquals(Bundle.ACTIVE, ttrpc.getState(), "io.kuasar.ttrpc is active");
        Map<String, Object> exports = new TreeMap<>();
        ttrpc.adapt(BundleWiring.class).getCapabilities(PackageNamespace.PACKAGE_NAMESPACE).forEach(c ->
                exports.put(packageOf(c), c.getAttributes().get(PackageNamespace.CAPABILITY_VERSION_ATTRIBUTE)));
        assertEquals(Map.of("io.kuasar.ttrpc", new Version(1, 0, 0)), exports);
        Bundle provider = CONTEXT.getBundle().adapt(BundleWiring.class)
                .getRequiredWires(PackageNamespace.PACKAGE_NAMESPACE).stream()
                .filter(w -> "io.kuasar.ttrpc".equals(packageOf(w.getCapability())))
                .map(w -> w.getProvider().getBundle()).findFirst().orElseThrow();
        assertEquals(ttrpc, provider, "this bundle's io.kuasar.ttrpc comes from the ttrpc bundle");
    }

    @Test
    void callGoesRoundTrip() throws Exception {
        ExecutorService handlers = Executors.newFixedThreadPool(2);
        EventLoopGroup loop = TtrpcEventLoops.newGroup(1, "itest-ttrpc-client");
        Path socket = dir.resolve("itest.sock");
        try (TtrpcServer server = new TtrpcServer(handlers)) {
            server.register("itest.Echo", "Upper", MethodHandler.of(StringValue.parser(), (ctx, s) ->
                    CompletableFuture.completedFuture(StringValue.of(s.getValue().toUpperCase()))));
            server.listen(socket);
            try (TtrpcClient client = TtrpcClient.connect(socket, loop)) {
                StringValue answer = client.call("itest.Echo", "Upper", StringValue.of("felix"), Map.of(),
                        Duration.ofSeconds(5), StringValue.parser()).get(10, TimeUnit.SECONDS);
                assertEquals("FELIX", answer.getValue());
            }
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
            handlers.shutdown();
        }
    }

    private static String packageOf(BundleCapability c) {
        return (String) c.getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE);
    }
}
