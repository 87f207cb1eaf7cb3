package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aQute.bnd.osgi.Builder;
import aQute.bnd.osgi.Jar;
import com.google.protobuf.Any;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerCreateRequest;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerGrpc;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerStartRequest;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerStartResponse;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerStatusRequest;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerStatusResponse;
import io.kuasar.api.containerd.types.Sandbox;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The SPI as a product: a driver bundle built outside the reactor, the way a vendor would build it, plugs into a
 * running node. At test time the sources under {@code e2e/external-driver/src/test/resources/external-driver} (sandboxer
 * {@code acme}, which labels its started sandboxes {@code vendor=acme}) are compiled with javac against the host
 * bundle jar (for {@code io.kuasar.spi}) and the OSGi annotation jars, and bundled by bndlib's {@code Builder} (DS
 * component XML, Import-Package computed from the SPI's exported version). The operator's command line installs it
 * into the running node; a gRPC client of containerd's sandbox Controller on our sandboxer socket then creates,
 * starts and asks the status of an {@code acme} sandbox; {@code drivers} lists it; {@code remove acme --force}
 * takes it away and {@code acme} is NOT_FOUND again.
 *
 * <p>Trust: the vendor signs the bundle with its own key (made here with keytool, signed with the JDK's JarSigner
 * API). {@code inspect} shows the bundle, its sandboxer, its SPI range and its signer; {@code install} is refused,
 * naming the signer and its fingerprint, until the operator runs {@code trust add} with the vendor's certificate.
 */
class ExternalDriverTest extends CriTestBase {
    private static final Metadata.Key<String> NAMESPACE =
            Metadata.Key.of("containerd-namespace", Metadata.ASCII_STRING_MARSHALLER);
    private static final String SANDBOXER = "acme";
    private static final String BSN = "com.acme.kuasar.driver";
    private static final Duration ARRIVAL = Duration.ofSeconds(20);
    /** The vendor's signer: its own key, made here, trusted by the node only once the operator says so. */
    private static final String VENDOR = "acme-e2e";

    private boolean installed;
    private boolean trusted;

    @AfterEach
    void removeAcme() throws IOException, InterruptedException {
        if (installed) {
            // Whatever happened above: the shared node must not keep the test's driver, nor trust its vendor.
            cli().admin("remove", SANDBOXER, "--force");
        }
        if (trusted) {
            cli().admin("trust", "remove", VENDOR);
        }
    }

    @Test
    void vendorBundleBuiltAgainstTheSpiServesItsSandboxerInARunningNode() throws Exception {
        Path bundle = buildExternalDriver(logRoot.resolve("build"));
        Manifest manifest;
        try (JarFile jar = new JarFile(bundle.toFile())) {
            manifest = jar.getManifest();
            assertNotNull(jar.getEntry("OSGI-INF/com.acme.kuasar.AcmeDriver.xml"), "DS component XML in the bundle");
        }
        String imports = manifest.getMainAttributes().getValue("Import-Package");
        // A driver implements the SPI (a consumer type): bnd gives it the range of the SPI's major version.
        assertTrue(java.util.regex.Pattern.compile("io\\.kuasar\\.spi;version=\"\\[1\\.\\d+,2\\)\"").matcher(imports).find(),
                "Import-Package: " + imports);
        assertEquals(BSN, manifest.getMainAttributes().getValue("Bundle-SymbolicName"));

        DriverJars.Key vendor = DriverJars.vendorKey(Files.createDirectories(logRoot.resolve("vendor")), VENDOR,
                "CN=ACME Driver Signing, O=ACME", null, 365);
        Path unsigned = bundle;
        bundle = logRoot.resolve("build/" + BSN + "-1.0.0-signed.jar");
        DriverJars.sign(unsigned, bundle, vendor);

        // What the operator sees before installing: the bundle, its sandboxer, its SPI range, its signer.
        NodeCli.Result inspect = cli().admin("inspect", bundle.toString());
        assertEquals(0, inspect.code(), inspect::toString);
        assertTrue(inspect.out().contains("bundle:      " + BSN + " 1.0.0"), inspect::toString);
        assertTrue(inspect.out().contains("sandboxers:  acme"), inspect::toString);
        assertTrue(java.util.regex.Pattern.compile("io\\.kuasar\\.spi \\[1\\.\\d+\\.0,2\\.0\\.0\\) \\(this node: 1\\.\\d+\\.\\d+,"
                + " satisfied\\)").matcher(inspect.out()).find(), inspect::toString);
        assertTrue(inspect.out().contains("CN=ACME Driver Signing,O=ACME") && inspect.out().contains("NOT trusted"),
                inspect::toString);

        // The vendor's signer is not trusted yet: refused, naming the signer, and nothing is installed.
        NodeCli.Result untrusted = cli().admin("install", bundle.toString());
        assertEquals(1, untrusted.code(), untrusted::toString);
        assertTrue(untrusted.err().contains("signer CN=ACME Driver Signing,O=ACME (SHA-256 ")
                && untrusted.err().contains("is not trusted"), untrusted::toString);
        assertTrue(driversOk().out().lines().noneMatch(l -> l.trim().startsWith(SANDBOXER + " ")), "acme listed");

        NodeCli.Result trust = cli().admin("trust", "add", vendor.certificate().toString(), VENDOR);
        trusted = true;
        assertEquals(0, trust.code(), trust::toString);
        NodeCli.Result list = cli().admin("trust", "list");
        assertTrue(list.out().lines().anyMatch(l -> l.startsWith(VENDOR + " ") && l.contains("CN=ACME")), list::toString);

        String id = "e2e-acme-" + UUID.randomUUID().toString().substring(0, 8);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(env.sandboxerSock().toString()))
                .eventLoopGroup(group).channelType(EpollDomainSocketChannel.class).usePlaintext().build();
        try {
            // Before: nobody serves acme.
            StatusRuntimeException before = assertThrows(StatusRuntimeException.class,
                    () -> controller(channel).create(create(id)));
            assertEquals(Status.Code.NOT_FOUND, before.getStatus().getCode(), before::getMessage);

            NodeCli.Result install = cli().admin("install", bundle.toAbsolutePath().toString());
            installed = true;
            assertEquals(0, install.code(), install::toString);

            List<String> line = awaitAcme();
            assertEquals(BSN, line.get(1), line::toString);
            assertEquals("1.0.0", line.get(2), line::toString);

            controller(channel).create(create(id));
            ControllerStartResponse started = controller(channel).start(ControllerStartRequest.newBuilder()
                    .setSandboxId(id).setSandboxer(SANDBOXER).build());
            assertEquals(id, started.getSandboxId());
            assertEquals("acme", started.getLabelsMap().get("vendor"), () -> "labels: " + started.getLabelsMap());

            ControllerStatusResponse status = controller(channel).status(ControllerStatusRequest.newBuilder()
                    .setSandboxId(id).setSandboxer(SANDBOXER).setVerbose(true).build());
            assertEquals(id, status.getSandboxId());
            assertEquals("SANDBOX_READY", status.getState());
            assertEquals("acme", status.getInfoMap().get("vendor"), () -> "info: " + status.getInfoMap());

            List<String> withSandbox = driverLine(driversOk());
            assertEquals("1", withSandbox.get(5), () -> "sandbox count: " + withSandbox);

            // In use: a plain remove is refused and says how many; --force stops and shuts the sandbox down first.
            NodeCli.Result refused = cli().admin("remove", SANDBOXER);
            assertEquals(1, refused.code(), refused::toString);
            assertTrue(refused.err().contains("1"), refused::toString);
            NodeCli.Result removed = cli().admin("remove", SANDBOXER, "--force");
            assertEquals(0, removed.code(), removed::toString);
            installed = false;

            assertTrue(driversOk().out().lines().noneMatch(l -> l.trim().startsWith(SANDBOXER + " ")),
                    "acme still listed after remove");
            StatusRuntimeException after = assertThrows(StatusRuntimeException.class,
                    () -> controller(channel).create(create(id + "-2")));
            assertEquals(Status.Code.NOT_FOUND, after.getStatus().getCode(), after::getMessage);
            assertTrue(after.getStatus().getDescription().contains(SANDBOXER), after::getMessage);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /** javac + bndlib, as a vendor's build would: only the SPI jar and the OSGi annotations on the class path. */
    private Path buildExternalDriver(Path work) throws Exception {
        Path sources = env.repo().resolve("e2e/external-driver/src/test/resources/external-driver");
        Path classes = Files.createDirectories(work.resolve("classes"));
        List<File> classpath = List.of(hostBundleJar().toFile(),
                jarOf(org.osgi.service.component.annotations.Component.class),
                jarOf(org.osgi.annotation.versioning.Version.class));

        List<File> javaFiles;
        try (Stream<Path> walk = Files.walk(sources.resolve("src"))) {
            javaFiles = walk.filter(p -> p.toString().endsWith(".java")).map(Path::toFile).toList();
        }
        assertTrue(!javaFiles.isEmpty(), "no driver sources under " + sources);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "no system Java compiler (a JDK is needed)");
        StringWriter diagnostics = new StringWriter();
        try (StandardJavaFileManager files = javac.getStandardFileManager(null, Locale.ROOT, null)) {
            Iterable<? extends JavaFileObject> units = files.getJavaFileObjectsFromFiles(javaFiles);
            List<String> options = List.of("--release", "17", "-proc:none", "-d", classes.toString(),
                    "-classpath", classpath.stream().map(File::getPath).collect(Collectors.joining(File.pathSeparator)));
            boolean ok = javac.getTask(diagnostics, files, null, options, null, units).call();
            assertTrue(ok, () -> "javac failed:\n" + diagnostics);
        }

        Path bundle = work.resolve(BSN + "-1.0.0.jar");
        try (Builder builder = new Builder()) {
            builder.setProperties(sources.resolve("bnd.bnd").toFile());
            builder.addClasspath(classes.toFile());
            for (File f : classpath) {
                builder.addClasspath(f);
            }
            try (Jar jar = builder.build()) {
                assertEquals(List.of(), builder.getErrors(), "bnd errors");
                assertEquals(List.of(), builder.getWarnings(), "bnd warnings");
                jar.write(bundle.toFile());
            }
        }
        return bundle;
    }

    /** {@code host/bundle/target/kuasar-host-*.jar}: the SPI as published by the host bundle. */
    private Path hostBundleJar() throws IOException {
        try (Stream<Path> jars = Files.list(env.repo().resolve("host/bundle/target"))) {
            List<Path> found = jars.filter(p -> p.getFileName().toString()
                    .matches("kuasar-host-[0-9][^/]*(?<!-sources|-javadoc|-tests)\\.jar")).toList();
            assertEquals(1, found.size(), "host/bundle/target/kuasar-host-*.jar: " + found);
            return found.get(0);
        }
    }

    private static File jarOf(Class<?> type) throws URISyntaxException {
        return new File(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    private static ControllerGrpc.ControllerBlockingStub controller(ManagedChannel channel) {
        Metadata headers = new Metadata();
        headers.put(NAMESPACE, "k8s.io");
        return ControllerGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    private static ControllerCreateRequest create(String id) {
        return ControllerCreateRequest.newBuilder().setSandboxId(id).setSandboxer(SANDBOXER)
                .setOptions(Any.pack(PodSandboxConfig.getDefaultInstance()))
                .setSandbox(Sandbox.newBuilder().setSandboxId(id).setSandboxer(SANDBOXER)).build();
    }

    /** The serving acme line of {@code drivers} once the driver's component is active. */
    private List<String> awaitAcme() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + ARRIVAL.toNanos();
        NodeCli.Result last;
        do {
            last = driversOk();
            List<List<String>> lines = acmeLines(last);
            if (lines.size() == 1 && lines.get(0).get(4).equals("serving")) {
                return lines.get(0);
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("acme not serving after " + ARRIVAL + ":\n" + last);
    }

    private static List<String> driverLine(NodeCli.Result drivers) {
        List<List<String>> lines = acmeLines(drivers);
        assertEquals(1, lines.size(), () -> "one acme line in\n" + drivers);
        return lines.get(0);
    }

    /** Lines of {@code drivers}: sandboxer, bundle, version, state, role, sandbox count. */
    private static List<List<String>> acmeLines(NodeCli.Result drivers) {
        return drivers.out().lines().map(l -> List.of(l.trim().split("\\s+")))
                .filter(f -> f.size() == 6 && f.get(0).equals(SANDBOXER)).toList();
    }

    private NodeCli.Result driversOk() throws IOException, InterruptedException {
        NodeCli.Result r = cli().admin("drivers");
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().startsWith("SANDBOXER"), r::toString);
        return r;
    }

    private NodeCli cli() {
        return new NodeCli(env, logRoot);
    }
}
