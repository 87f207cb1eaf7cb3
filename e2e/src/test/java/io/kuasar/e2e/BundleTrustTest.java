package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Only trusted code gets into the node, through the command line and through the drivers drop-in folder, while runc
 * pods keep running untouched: unsigned, tampered, expired and wrong-signer bundles are refused with messages naming
 * the finding, as are a missing file, a file that is no jar, a jar that is no OSGi bundle, a bundle with no driver
 * inside and one that needs an SPI version this node does not have. After all of it the same runc driver serves,
 * with the same container processes.
 */
class BundleTrustTest extends CriTestBase {
    private static final int PODS = 3;
    private static final Duration REFUSAL = Duration.ofSeconds(30);
    private static final String EXPIRED = "expired-e2e";
    private static final String OTHER = "other-e2e";

    private final List<Path> dropped = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (Path p : dropped) {
            Files.deleteIfExists(p);
        }
        cli().admin("trust", "remove", EXPIRED);
        cli().admin("trust", "remove", OTHER);
    }

    @Test
    void untrustedBundlesAreRefusedThroughTheCommandLineAndTheDropInFolderWhilePodsRun() throws Exception {
        Map<String, Long> sleepers = new LinkedHashMap<>();
        for (int i = 0; i < PODS; i++) {
            PodSandboxConfig pod = podConfig("trust" + i);
            String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
            String id = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
            cri.waitForState(id, ContainerState.CONTAINER_RUNNING, WAIT);
            sleepers.put(id, initPid(id));
        }
        String runcBefore = runcLine();
        long mark = nodeLogMark();
        Path work = Files.createDirectories(logRoot.resolve("trust"));
        Path runc = DriverJars.builtRuncJar(env.repo());

        // Errors a new user meets, each naming the problem.
        refused(cli().admin("install", "/nonexistent.jar"), "no such file: /nonexistent.jar");
        refused(cli().admin("upgrade", "runc", "/etc/passwd"), "not a jar: /etc/passwd");
        Path noBundle = jar(work.resolve("plain.jar"), Map.of());
        refused(cli().admin("install", noBundle.toString()), "not an OSGi bundle");
        Path noDriver = signed(jar(work.resolve("nodriver.jar"), Map.of("Bundle-SymbolicName", "e2e.nodriver",
                "Bundle-ManifestVersion", "2", "Bundle-Version", "1.0.0")), work);
        refused(cli().admin("install", noDriver.toString()), "no driver inside");
        Path future = signed(jar(work.resolve("future.jar"), Map.of("Bundle-SymbolicName", "e2e.future",
                "Bundle-ManifestVersion", "2", "Bundle-Version", "1.0.0",
                "Import-Package", "io.kuasar.spi;version=\"[9.0,10)\"",
                "Provide-Capability", "osgi.service;objectClass:List<String>=\"io.kuasar.spi.SandboxDriver\"")), work);
        refused(cli().admin("install", future.toString()), "needs io.kuasar.spi [9.0.0,10.0.0), and this node has io.kuasar.spi 1.");

        // The signature findings.
        Path unsigned = work.resolve("runc-unsigned.jar");
        DriverJars.repackUnsigned(runc, unsigned, "0.1.21");
        refused(cli().admin("upgrade", "runc", unsigned.toString()), "is unsigned");
        refused(cli().admin("install", unsigned.toString()), "is unsigned");

        Path signedRunc = work.resolve("runc-signed.jar");
        DriverJars.repack(runc, signedRunc, "0.1.22");
        Path tampered = work.resolve("runc-tampered.jar");
        String entry = DriverJars.firstClass(signedRunc);
        DriverJars.tamper(signedRunc, tampered, entry);
        refused(cli().admin("upgrade", "runc", tampered.toString()), "entry " + entry + " tampered with");

        DriverJars.Key expiredKey = DriverJars.vendorKey(work, EXPIRED, "CN=Expired Vendor, O=E2E", "-10d", 1);
        NodeCli.Result trustExpired = cli().admin("trust", "add", expiredKey.certificate().toString(), EXPIRED);
        assertEquals(0, trustExpired.code(), trustExpired::toString);
        assertTrue(trustExpired.out().contains("expired"), trustExpired::toString);
        Path expired = work.resolve("runc-expired.jar");
        DriverJars.repackUnsigned(runc, unsigned, "0.1.23");
        DriverJars.sign(unsigned, expired, expiredKey);
        refused(cli().admin("upgrade", "runc", expired.toString()), "certificate of signer CN=Expired Vendor,O=E2E");
        refused(cli().admin("upgrade", "runc", expired.toString()), "expired on");

        DriverJars.Key otherKey = DriverJars.vendorKey(work, OTHER, "CN=Other Vendor, O=E2E", null, 30);
        assertEquals(0, cli().admin("trust", "add", otherKey.certificate().toString(), OTHER).code());
        Path other = work.resolve("runc-other.jar");
        DriverJars.repackUnsigned(runc, unsigned, "0.1.24");
        DriverJars.sign(unsigned, other, otherKey);
        refused(cli().admin("upgrade", "runc", other.toString()), "a driver keeps its signer");
        refused(cli().admin("install", other.toString()), "a driver keeps its signer");
        NodeCli.Result inspect = cli().admin("inspect", other.toString());
        assertEquals(0, inspect.code(), inspect::toString);
        assertTrue(inspect.out().contains("CN=Other Vendor,O=E2E") && inspect.out().contains("trusted as " + OTHER),
                inspect::toString);

        assertEquals(runcBefore, runcLine(), "the runc driver that serves is the one from before");
        assertStillServed(sleepers, mark);

        // The same four through the drop-in folder: each logged as refused, with its reason, nothing installed.
        mark = nodeLogMark();
        Map<String, String> reasons = new LinkedHashMap<>();
        reasons.put(drop(unsigned(runc, work)), "is unsigned");
        reasons.put(drop(tampered), "tampered with");
        reasons.put(drop(expired), "expired on");
        reasons.put(drop(other), "a driver keeps its signer");
        // File Install's own watcher (the node's working directory) must not install anything either.
        Path stray = env.nodeDir().resolve("kuasar/e2e-stray.jar");
        DriverJars.repackUnsigned(runc, work.resolve("stray.jar"), "0.1.26");
        Files.move(Files.copy(work.resolve("stray.jar"), env.nodeDir().resolve("stray.tmp")), stray,
                StandardCopyOption.ATOMIC_MOVE);
        dropped.add(stray);
        for (Map.Entry<String, String> r : reasons.entrySet()) {
            awaitLog(mark, "drop-in: refused ", r.getKey(), r.getValue());
        }
        NodeCli.Result bundles = cli().admin("shell", "lb");
        assertTrue(bundles.out().contains("Kuasar runc driver") && !bundles.out().contains("(0.1.2"),
                () -> "no repacked runc (0.1.2x) installed:\n" + bundles);
        assertEquals(runcBefore, runcLine(), "the runc driver that serves is the one from before");
        assertStillServed(sleepers, mark);
    }

    /**
     * The Felix shell's own {@code install} (no check of ours on its way) gets an unsigned driver into the
     * framework, but it never resolves: none of its code runs, and the runc driver from before keeps serving.
     */
    @Test
    void aBundleInstalledPastTheNodesCommandsNeverResolvesUnlessTrusted() throws Exception {
        String runcBefore = runcLine();
        Path work = Files.createDirectories(logRoot.resolve("shell-install"));
        Path runc = DriverJars.builtRuncJar(env.repo());
        Path unsigned = work.resolve("runc-unsigned-shell.jar");
        DriverJars.repackUnsigned(runc, unsigned, "0.1.27");
        NodeCli.Result installed = cli().admin("shell", "install file:" + unsigned);
        java.util.regex.Matcher id = java.util.regex.Pattern.compile("Bundle ID: (\\d+)").matcher(installed.out());
        assertTrue(id.find(), () -> "felix install answered:\n" + installed);
        try {
            NodeCli.Result start = cli().admin("shell", "start " + id.group(1));
            // the operator who typed it reads why (the gate's warning is logged inside the shell command)
            assertTrue(start.out().contains("Resolver hook prevented resolution")
                    && start.out().contains("is not resolved: it is unsigned; none of its code runs"), start::toString);
            NodeCli.Result state = cli().admin("shell", "lb -s");
            assertTrue(state.out().lines().anyMatch(l -> l.matches("\\s*" + id.group(1) + "\\|Installed.*")),
                    () -> "bundle " + id.group(1) + " stays INSTALLED:\n" + state);
            assertEquals(runcBefore, runcLine(), "the runc driver that serves is the one from before");
        } finally {
            cli().admin("shell", "uninstall " + id.group(1));
        }
    }

    private Path unsigned(Path runc, Path work) throws IOException {
        Path p = work.resolve("runc-unsigned-drop.jar");
        DriverJars.repackUnsigned(runc, p, "0.1.25");
        return p;
    }

    /** Moves a copy of {@code jar} into the drop-in folder at once (never half a jar); answers its path there. */
    private String drop(Path jar) throws IOException {
        Path copy = Files.copy(jar, env.nodeDir().resolve("trust-drop.tmp"), StandardCopyOption.REPLACE_EXISTING);
        Path target = env.nodeDir().resolve("kuasar/drivers/e2e-" + jar.getFileName());
        Files.move(copy, target, StandardCopyOption.ATOMIC_MOVE);
        dropped.add(target);
        return target.toString();
    }

    private static void refused(NodeCli.Result r, String text) {
        assertEquals(1, r.code(), r::toString);
        assertTrue(r.err().contains(text), () -> "expected \"" + text + "\" in:\n" + r);
    }

    /** A jar of a manifest with {@code headers} and one text entry. */
    private static Path jar(Path target, Map<String, String> headers) throws IOException {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        headers.forEach((k, v) -> m.getMainAttributes().put(new Attributes.Name(k), v));
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(target), m)) {
            out.putNextEntry(new JarEntry("e2e/readme.txt"));
            out.write("a test bundle\n".getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
        }
        return target;
    }

    /** {@code jar} signed with the build's key, which the node trusts. */
    private Path signed(Path jar, Path work) throws IOException {
        Path target = work.resolve("signed-" + jar.getFileName());
        DriverJars.sign(jar, target, DriverJars.buildKey(env.repo()));
        return target;
    }

    private String runcLine() throws IOException, InterruptedException {
        NodeCli.Result r = cli().admin("drivers");
        assertEquals(0, r.code(), r::toString);
        List<String> lines = r.out().lines().filter(l -> l.startsWith("runc ")).toList();
        assertEquals(1, lines.size(), r::toString);
        return lines.get(0).replaceAll("\\s+\\d+$", ""); // without the sandbox count
    }

    private void awaitLog(long mark, String... texts) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + REFUSAL.toNanos();
        while (System.nanoTime() < deadline) {
            if (nodeLogSince(mark).lines().anyMatch(l -> List.of(texts).stream().allMatch(l::contains))) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no node log line with " + List.of(texts) + " within " + REFUSAL + ":\n"
                + nodeLogSince(mark));
    }

    private NodeCli cli() {
        return new NodeCli(env, logRoot);
    }
}
