package io.kuasar.host.trust;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Version;

/** The node's bundle rule, on bundles written and signed here with keys keytool made. */
class BundleCheckTest {
    private static final Version NODE_SPI = new Version(1, 3, 0);

    @TempDir
    static Path keys;
    private static TestJars.Key trusted;
    private static TestJars.Key stranger;
    private static TestJars.Key expired;

    @TempDir
    Path dir;

    @BeforeAll
    static void makeKeys() throws Exception {
        trusted = TestJars.key(keys, "vendor", "CN=Vendor, O=Test", null, 30);
        stranger = TestJars.key(keys, "stranger", "CN=Stranger, O=Test", null, 30);
        expired = TestJars.key(keys, "old", "CN=Old Vendor, O=Test", "-10d", 1);
    }

    private BundleCheck check(boolean allowUnsigned) throws Exception {
        TrustStore store = new TrustStore(dir.resolve("config/trust.p12"), null);
        store.add(trusted.certificate(), null);
        store.add(expired.certificate(), "old");
        return new BundleCheck(store, NODE_SPI, allowUnsigned, Clock.systemUTC(), dir.resolve("work"));
    }

    private Path signedDriver(TestJars.Key key) throws Exception {
        return TestJars.sign(TestJars.driver(dir.resolve("plain.jar"), "acme", "[1.0,2)"), dir.resolve("signed.jar"), key);
    }

    private String refusal(BundleCheck check, Path jar) {
        return assertThrows(BundleRefusedException.class, () -> check.check(jar).close()).getMessage();
    }

    @Test
    void aDriverSignedByATrustedSignerPassesWithItsSandboxersAndSigner() throws Exception {
        try (BundleCheck.Checked c = check(false).check(signedDriver(trusted))) {
            assertEquals("test.driver.acme", c.facts().symbolicName());
            assertEquals(List.of("acme"), c.facts().sandboxers());
            assertTrue(c.facts().driver());
            assertEquals("CN=Vendor,O=Test", c.signer().orElseThrow().subject());
            assertTrue(Files.isRegularFile(c.copy()), "the private copy to install from");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(c.copy())));
        }
        try (var files = Files.list(dir.resolve("work"))) {
            assertEquals(0, files.count(), "the private copy is gone after close");
        }
    }

    @Test
    void anUnsignedBundleIsRefusedUnlessTheDevelopmentSwitchIsOn() throws Exception {
        Path jar = TestJars.driver(dir.resolve("plain.jar"), "acme", "[1.0,2)");
        assertTrue(refusal(check(false), jar).contains("is unsigned"));
        try (BundleCheck.Checked c = check(true).check(jar)) {
            assertTrue(c.signer().isEmpty());
        }
    }

    @Test
    void aTamperedEntryIsNamed() throws Exception {
        Path tampered = TestJars.rewrite(signedDriver(trusted), dir.resolve("t.jar"), "test/Driver.class", new byte[] {1});
        String m = refusal(check(false), tampered);
        assertTrue(m.contains("entry test/Driver.class tampered with"), m);
    }

    @Test
    void anEntryAddedAfterSigningIsRefused() throws Exception {
        Path extra = TestJars.rewrite(signedDriver(trusted), dir.resolve("x.jar"), "test/Extra.class",
                "injected".getBytes(StandardCharsets.UTF_8));
        String m = refusal(check(false), extra);
        assertTrue(m.contains("entry test/Extra.class is not signed"), m);
    }

    @Test
    void aSignedEntryRemovedIsRefused() throws Exception {
        Path signed = signedDriver(trusted);
        Path without = dir.resolve("without.jar");
        try (var in = new java.util.jar.JarFile(signed.toFile(), false);
             var out = new java.util.jar.JarOutputStream(Files.newOutputStream(without))) {
            for (var e : in.stream().filter(e -> !e.getName().equals("test/Driver.class")).toList()) {
                out.putNextEntry(new java.util.jar.JarEntry(e.getName()));
                in.getInputStream(e).transferTo(out);
                out.closeEntry();
            }
        }
        String m = refusal(check(false), without);
        assertTrue(m.contains("test/Driver.class is signed but missing"), m);
    }

    @Test
    void aSignerNotTrustedIsNamedWithItsFingerprint() throws Exception {
        Path jar = signedDriver(stranger);
        String fingerprint = Signer.fingerprint(TrustStore.read(stranger.certificate()));
        String m = refusal(check(false), jar);
        assertTrue(m.contains("signer CN=Stranger,O=Test (SHA-256 " + fingerprint + ") is not trusted"), m);
    }

    @Test
    void anExpiredCertificateIsRefusedThoughTrusted() throws Exception {
        String m = refusal(check(false), signedDriver(expired));
        assertTrue(m.contains("certificate of signer CN=Old Vendor,O=Test") && m.contains("expired on"), m);
    }

    @Test
    void twoSignersAreRefused() throws Exception {
        Path twice = TestJars.sign(signedDriver(trusted), dir.resolve("twice.jar"), stranger);
        String m = refusal(check(false), twice);
        assertTrue(m.contains("has 2 signers"), m);
    }

    @Test
    void anSpiThisNodeDoesNotHaveIsNamed() throws Exception {
        Path jar = TestJars.sign(TestJars.driver(dir.resolve("p.jar"), "acme", "[2.0,3)"), dir.resolve("s.jar"), trusted);
        String m = refusal(check(false), jar);
        assertTrue(m.contains("needs io.kuasar.spi [2.0.0,3.0.0), and this node has io.kuasar.spi 1.3.0"), m);
    }

    @Test
    void filesThatAreNoDriverBundleAreNamedAsSuch() throws Exception {
        BundleCheck check = check(false);
        assertTrue(refusal(check, dir.resolve("missing.jar")).startsWith("no such file: "));
        Path text = Files.writeString(dir.resolve("passwd"), "root:x:0:0::/root:/bin/sh\n");
        assertTrue(refusal(check, text).startsWith("not a jar: "));
        Path plain = TestJars.jar(dir.resolve("plain.jar"), Map.of(), Map.of("a.txt", new byte[] {1}));
        assertTrue(refusal(check, plain).startsWith("not an OSGi bundle: "));
        Path library = TestJars.sign(TestJars.jar(dir.resolve("lib.jar"), Map.of("Bundle-SymbolicName", "lib",
                "Bundle-Version", "1.0.0"), Map.of("a.txt", new byte[] {1})), dir.resolve("slib.jar"), trusted);
        assertTrue(refusal(check, library).startsWith("no driver inside "));
    }

    @Test
    void inspectShowsTheBundleAndTheVerdictWithoutInstalling() throws Exception {
        List<String> lines = check(false).inspect(signedDriver(stranger));
        String text = String.join("\n", lines);
        assertTrue(text.contains("bundle:      test.driver.acme 1.2.3"), text);
        assertTrue(text.contains("sandboxers:  acme"), text);
        assertTrue(text.contains("io.kuasar.spi [1.0.0,2.0.0) (this node: 1.3.0, satisfied)"), text);
        assertTrue(text.contains("CN=Stranger,O=Test") && text.contains("NOT trusted"), text);
        assertTrue(text.contains("verdict:     REFUSED"), text);
    }

    @Test
    void theTrustStoreAddsListsAndRemovesSignersInAPrivatePkcs12File() throws Exception {
        TrustStore store = new TrustStore(dir.resolve("config/trust.p12"), TrustStore.read(stranger.certificate()));
        TrustStore.Entry added = store.add(trusted.certificate(), null);
        assertEquals("vendor", added.alias(), "named from the CN");
        assertEquals(added, store.add(trusted.certificate(), "again"), "adding twice answers the entry");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(store.file())));
        assertEquals(List.of(TrustStore.BUILT_IN_ALIAS, "vendor"), store.list().stream().map(TrustStore.Entry::alias).toList());
        assertTrue(assertThrows(java.io.IOException.class, () -> store.remove(TrustStore.BUILT_IN_ALIAS)).getMessage()
                .contains("cannot be removed"));
        store.remove(added.signer().fingerprint());
        assertFalse(store.find(added.signer()).isPresent());
        java.security.KeyStore p12 = java.security.KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(store.file())) {
            p12.load(in, TrustStore.PASSWORD.toCharArray());
        }
        assertEquals(0, p12.size(), "a plain PKCS#12 file that keytool reads too");
    }
}
